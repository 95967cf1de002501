// The demo page's script: plain browser JavaScript, no build step. It logs in with a session
// cookie (same origin), opens one socket.io connection (the cookie authenticates the handshake)
// and calls the documented JSON API. Everything shown is set with textContent, never as HTML.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const FEED_PAGE = 20;
  const LIST_MAX = 50;

  let me = null;
  let socket = null;
  let feedNext = null;
  const feedSeen = new Set();
  /** Report jobs queued from this page, by id: their list item. */
  const jobs = new Map();

  /** A JSON API call; resolves to the parsed body, throws an Error with the server's message. */
  async function api(method, path, body, headers) {
    const init = { method, headers: { accept: 'application/json', ...headers } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null; // not JSON (a proxy's error page, say)
    }
    if (!res.ok) {
      const message = data && data.message ? [].concat(data.message).join('; ') : res.statusText;
      const err = new Error(`${res.status}: ${message}`);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  function say(id, text) {
    $(id).textContent = text;
  }

  function time(iso) {
    const d = iso ? new Date(iso) : new Date();
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
  }

  /** Adds an item at the top of a list (newest first), keeping at most LIST_MAX. */
  function prepend(list, item) {
    list.insertBefore(item, list.firstChild);
    while (list.children.length > LIST_MAX) list.removeChild(list.lastChild);
  }

  function item(className, parts) {
    const li = document.createElement('li');
    if (className) li.className = className;
    for (const [tag, text, cls] of parts) {
      const el = document.createElement(tag);
      el.textContent = text;
      if (cls) el.className = cls;
      li.appendChild(el);
    }
    return li;
  }

  // --- live connection ---------------------------------------------------------------------

  function setSocketState(state, text) {
    const el = $('socket-status');
    el.dataset.state = state;
    el.textContent = text;
  }

  function connect() {
    disconnect();
    if (typeof window.io !== 'function') {
      setSocketState('unavailable', 'unavailable (no socket.io client at /socket.io/socket.io.js)');
      return;
    }
    setSocketState('connecting', 'connecting…');
    // Same origin: the session cookie goes with the handshake and authenticates it.
    socket = window.io({ withCredentials: true });
    socket.on('connect', () => {
      const transport = socket.io.engine.transport.name;
      $('socket-status').dataset.transport = transport;
      setSocketState('connected', `connected (${transport})`);
      socket.io.engine.once('upgrade', (t) => {
        $('socket-status').dataset.transport = t.name;
        setSocketState('connected', `connected (${t.name})`);
      });
    });
    socket.on('disconnect', (reason) => {
      setSocketState('offline', `disconnected (${reason})`);
    });
    socket.on('connect_error', (err) => {
      setSocketState('refused', `not connected: ${err.message}`);
    });
    socket.on('auth.revoked', (e) => {
      setSocketState('revoked', `disconnected by the server: ${e && e.reason}`);
    });
    socket.on('notification', onNotification);
    socket.on('job.completed', (e) => onJob(e, 'completed'));
    socket.on('job.failed', (e) => onJob(e, 'failed'));
    socket.on('feed', (entry) => showFeedEntry(entry, true));
    socket.on('exception', (e) => {
      setSocketState('connected', `server said: ${e && e.message}`);
    });
  }

  function disconnect() {
    if (socket) {
      socket.removeAllListeners();
      socket.disconnect();
      socket = null;
    }
    setSocketState('offline', 'not connected');
  }

  // --- account -----------------------------------------------------------------------------

  function showAccount(user) {
    me = user;
    $('login-form').hidden = Boolean(user);
    $('signed-in').hidden = !user;
    document.body.dataset.user = user ? String(user.userId) : '';
    if (user) {
      say('me-email', user.email);
      say('me-id', String(user.userId));
      say('me-roles', user.roles.length ? `, ${user.roles.join(', ')}` : '');
      $('notify-user').value = String(user.userId);
      say(
        'notify-user-hint',
        user.roles.includes('admin')
          ? 'any user id (you are an admin)'
          : 'yourself only (admins may notify anyone)',
      );
      $('score-member').value ||= user.email;
    }
  }

  async function afterLogin(user) {
    showAccount(user);
    connect();
    await Promise.allSettled([loadFeed(true), loadBoard()]);
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    say('account-message', 'Logging in…');
    try {
      await api('POST', '/api/login', {
        email: $('login-email').value,
        password: $('login-password').value,
      });
      $('login-password').value = '';
      const user = await api('GET', '/api/me');
      say('account-message', '');
      await afterLogin(user);
    } catch (err) {
      say('account-message', `Login failed: ${err.message}`);
    }
  });

  $('logout').addEventListener('click', async () => {
    try {
      await api('POST', '/api/logout');
    } catch (err) {
      say('account-message', `Logout: ${err.message}`);
    }
    disconnect();
    showAccount(null);
    say('account-message', 'Logged out.');
  });

  // --- notifications -----------------------------------------------------------------------

  function onNotification(n) {
    const from = n && n.from !== undefined ? `from user ${n.from}` : '';
    const li = item('notification', [
      ['time', time(n && n.sentAt)],
      ['span', from, 'from'],
      ['span', String(n && n.message), 'text'],
    ]);
    if (n && n.id) li.dataset.id = String(n.id);
    prepend($('notification-list'), li);
  }

  $('notify-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!me) return say('notify-message-status', 'Log in first.');
    say('notify-message-status', 'Sending…');
    try {
      const userId = Number($('notify-user').value);
      await api('POST', '/api/notify', { userId, message: $('notify-message').value });
      say('notify-message-status', `Sent to user ${userId}.`);
      $('notify-message').value = '';
    } catch (err) {
      say('notify-message-status', `Not sent: ${err.message}`);
    }
  });

  // --- report jobs -------------------------------------------------------------------------

  function onJob(e, state) {
    if (!e || e.queue !== 'report') return;
    const id = String(e.jobId);
    let li = jobs.get(id);
    if (!li) {
      li = item('job', [['span', `report job ${id}`]]);
      li.dataset.jobId = id;
      jobs.set(id, li);
      prepend($('job-list'), li);
    }
    li.dataset.state = state;
    const detail =
      state === 'completed' ? JSON.stringify(e.result ?? null) : String(e.reason ?? '');
    li.textContent = `${time()} report job ${id}: ${state} ${detail}`;
  }

  $('queue-report').addEventListener('click', async () => {
    if (!me) return;
    try {
      const { jobId } = await api('POST', '/api/reports');
      const id = String(jobId);
      if (!jobs.has(id)) {
        const li = item('job', [['span', `${time()} report job ${id}: queued`]]);
        li.dataset.jobId = id;
        li.dataset.state = 'queued';
        jobs.set(id, li);
        prepend($('job-list'), li);
      }
    } catch (err) {
      prepend($('job-list'), item('job error', [['span', `Not queued: ${err.message}`]]));
    }
  });

  // --- feed --------------------------------------------------------------------------------

  const ACTIONS = {
    'post.created': (e) => `user ${e.actorId} wrote post ${e.targetId}`,
    'user.followed': (e) => `user ${e.actorId} followed user ${e.targetId}`,
    'profile.updated': (e) => `user ${e.actorId} updated their profile`,
  };

  function showFeedEntry(e, live) {
    if (!e || !e.id || feedSeen.has(e.id)) return;
    feedSeen.add(e.id);
    const describe = ACTIONS[e.action] || ((x) => `${x.action} (target ${x.targetId})`);
    const li = item('feed-entry', [
      ['time', time(e.timestamp)],
      ['span', describe(e), 'text'],
    ]);
    li.dataset.id = e.id;
    const list = $('feed-list');
    if (live) prepend(list, li);
    else list.appendChild(li);
    say('feed-message', '');
  }

  async function loadFeed(fresh) {
    if (!me) return;
    if (fresh) {
      $('feed-list').textContent = '';
      delete $('feed-list').dataset.loaded;
      feedSeen.clear();
      feedNext = null;
    }
    try {
      const q = new URLSearchParams({ count: String(FEED_PAGE) });
      if (!fresh && feedNext) q.set('before', feedNext);
      const page = await api('GET', `/api/feed?${q}`);
      for (const e of page.entries) showFeedEntry(e, false);
      feedNext = page.next;
      $('feed-list').dataset.loaded = 'true';
      $('feed-older').hidden = !feedNext;
      say(
        'feed-message',
        $('feed-list').children.length ? '' : 'Nothing yet: create a post, follow someone.',
      );
    } catch (err) {
      say('feed-message', `Feed unavailable: ${err.message}`);
    }
  }

  $('post-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!me) return say('feed-action-status', 'Log in first.');
    try {
      const post = await api('POST', '/api/posts', {
        userId: me.userId,
        title: $('post-title').value,
        content: $('post-content').value,
      });
      say(
        'feed-action-status',
        `Published post ${post.id}: it reaches your feed and your followers'.`,
      );
      $('post-title').value = '';
      $('post-content').value = '';
    } catch (err) {
      say('feed-action-status', `Not published: ${err.message}`);
    }
  });

  $('follow-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!me) return say('feed-action-status', 'Log in first.');
    const userId = Number($('follow-user').value);
    try {
      await api('POST', `/api/users/${userId}/followers`, { followerId: me.userId });
      say('feed-action-status', `You follow user ${userId}: their new activities reach your feed.`);
    } catch (err) {
      say('feed-action-status', `Not followed: ${err.message}`);
    }
  });

  $('feed-refresh').addEventListener('click', () => void loadFeed(true));
  $('feed-older').addEventListener('click', () => void loadFeed(false));

  // --- leaderboard -------------------------------------------------------------------------

  function boardName() {
    return $('board-name').value.trim();
  }

  async function loadBoard() {
    const board = boardName();
    try {
      const top = await api('GET', `/api/leaderboard/${encodeURIComponent(board)}?top=10`);
      const rows = $('board-rows');
      rows.textContent = '';
      for (const e of top.entries) {
        const tr = document.createElement('tr');
        for (const v of [e.rank, e.member, e.score]) {
          const td = document.createElement('td');
          td.textContent = String(v);
          tr.appendChild(td);
        }
        rows.appendChild(tr);
      }
      say('board-caption', `Top 10 of "${top.board}"`);
      say('board-message', top.entries.length ? '' : 'Empty board: add points to a member.');
    } catch (err) {
      say(
        'board-message',
        err.status === 404 ? 'No such board yet: add points to create it.' : err.message,
      );
      $('board-rows').textContent = '';
    }
  }

  $('board-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void loadBoard();
  });

  $('score-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await api(
        'POST',
        `/api/leaderboard/${encodeURIComponent(boardName())}/increments`,
        {
          member: $('score-member').value,
          score: Number($('score-points').value),
        },
      );
      say('board-message', `${r.member}: ${r.score} points, rank ${r.rank}.`);
      await loadBoard();
    } catch (err) {
      say('board-message', err.message);
    }
  });

  // --- start -------------------------------------------------------------------------------

  async function start() {
    try {
      await afterLogin(await api('GET', '/api/me'));
    } catch {
      showAccount(null); // not logged in (401) or the API is down: the form stays
      void loadBoard();
    }
  }

  void start();
})();
