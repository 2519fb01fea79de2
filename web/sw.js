// sw.js — the service worker, only so that notifications work on phones: Chrome on Android
// refuses `new Notification()` and shows them only through registration.showNotification().
// No fetch handler and no cache: every request still goes to the network exactly as without it.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

// A tap on a notification brings an open CONVO tab forward, or opens one.
self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  e.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((tabs) => {
    const tab = tabs.find((c) => new URL(c.url).origin === self.location.origin);
    return tab ? tab.focus() : self.clients.openWindow('/');
  }));
});
