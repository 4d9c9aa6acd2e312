// Notifications as they arrive (the socket keeps the list current; no
// reload), unread first marked, each can be marked read.

import { h, replace, announce } from '../dom.js';
import { route } from '../router.js';
import * as notifications from '../notifications.js';
import { messageFor } from '../messages.js';
import { heading, time, amount } from '../views.js';

function item(n) {
  const mark = n.read ? null : h('button', { type: 'button', class: 'link-button' }, 'Mark as read',
    h('span', { class: 'visually-hidden' }, `: ${n.title}`));
  if (mark) {
    mark.addEventListener('click', async () => {
      mark.disabled = true;
      try {
        await notifications.markRead(n.id);
        announce('Marked as read');
      } catch (err) {
        mark.disabled = false;
        announce(messageFor(err));
      }
    });
  }
  return h('li', { class: `notification${n.read ? '' : ' unread'}`, dataset: { id: n.id, type: n.type } },
    h('div', { class: 'n-head' },
      h('strong', { class: 'n-title' }, n.read ? null : h('span', { class: 'visually-hidden' }, 'Unread: '), n.title),
      time(n.createdAt)),
    h('p', { class: 'n-message' }, n.message),
    h('div', { class: 'n-meta' },
      n.amount ? amount(n.amount) : null,
      n.reference ? h('span', { class: 'mono' }, n.reference) : null,
      mark));
}

route({
  pattern: '/notifications',
  title: 'Notifications', // reached from the bell in the header
  render(main) {
    const list = h('ul', { class: 'notifications', id: 'notification-list' });
    const status = h('p', { class: 'subtitle', role: 'status' });
    const markAll = h('button', { type: 'button' }, 'Mark all as read');
    markAll.addEventListener('click', async () => {
      markAll.disabled = true;
      const unread = notifications.list().filter((n) => !n.read);
      await Promise.allSettled(unread.map((n) => notifications.markRead(n.id)));
      markAll.disabled = false;
    });
    const draw = () => {
      const all = notifications.list();
      const unread = notifications.unread();
      status.textContent = notifications.connection() === 'live'
        ? `${unread} unread · updates arrive live` : `${unread} unread · reconnecting…`;
      markAll.hidden = unread === 0;
      replace(list, all.length ? all.map(item) : h('li', { class: 'empty' }, 'Nothing yet.'));
    };
    main.append(heading('Notifications', status), h('div', { class: 'actions' }, markAll), list);
    draw();
    const off = notifications.onChange(() => {
      if (!list.isConnected) { off(); return; }
      draw();
    });
  },
});
