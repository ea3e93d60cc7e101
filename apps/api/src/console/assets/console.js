// The operator console (README "Operator console"): plain DOM, no framework,
// nothing fetched from anywhere but this API. Every value from the API is
// written as text (textContent), never as HTML: job fields come from tenants.
const POLL_MS = 3000;
const KEY_ITEM = 'relay-operator-key';
const $ = (selector) => document.querySelector(selector);

// The key lives in sessionStorage: it goes when the tab closes, and only ever travels in the Authorization header.
let key = sessionStorage.getItem(KEY_ITEM);
let timer;
let lastTotals;
const jobsView = { workspace: '', status: '', cursor: null, next: null };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, cache: 'no-store', headers: { Authorization: `Bearer ${key}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, [].concat(body.message ?? res.statusText).join('; '));
  return body;
}

function announce(text) {
  $('#status').textContent = text;
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (className) td.className = className;
  row.append(td);
  return td;
}

function button(label, accessibleName, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (accessibleName) b.setAttribute('aria-label', accessibleName);
  b.addEventListener('click', onClick);
  return b;
}

function time(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

function renderQueues(overview) {
  const body = $('#queues-table tbody');
  body.replaceChildren();
  for (const ws of overview.workspaces) {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = ws.workspace_id;
    row.append(th);
    for (const state of ['pending', 'running', 'retrying', 'dead']) cell(row, String(ws[state]), 'number').dataset.state = state;
    cell(row, '').append(button('Show jobs', `Show jobs of ${ws.workspace_id}`, () => showJobs(ws.workspace_id, '')));
  }
  for (const td of document.querySelectorAll('[data-total]')) td.textContent = String(overview.totals[td.dataset.total]);
  const notes = [];
  if (overview.workspaces.length === 0) notes.push('No workspace has jobs.');
  if (overview.workspaces_truncated) notes.push('Only the first workspaces are listed.');
  if (overview.counts_capped) notes.push('The retry or dead-letter list is too long to count per workspace in full: counts are lower bounds.');
  $('#queues-note').textContent = notes.join(' ');
  const totals = overview.totals;
  const summary = `${totals.pending} pending, ${totals.running} running, ${totals.retrying} retrying, ${totals.dead} dead`;
  // Announced only when something changed, so a screen reader is not told the same numbers every few seconds.
  if (lastTotals !== undefined && lastTotals !== summary) announce(`Queues updated: ${summary}.`);
  lastTotals = summary;
}

function renderDead(dead) {
  $('#dead-caption').textContent = `Newest dead letters (${dead.total} in all)`;
  const body = $('#dead-table tbody');
  body.replaceChildren();
  for (const item of dead.items) {
    const row = body.insertRow();
    cell(row, item.workspace_id);
    cell(row, '').append(button(item.job_id, `Open job ${item.job_id} of workspace ${item.workspace_id}`, () => openJob(item.workspace_id, item.job_id)));
    cell(row, item.job?.action ?? '(expired)');
    cell(row, item.job?.error ?? '');
    cell(row, time(item.job?.finished_at));
    cell(row, '').append(button('Requeue', `Requeue job ${item.job_id} of workspace ${item.workspace_id}`, () => requeue(item.workspace_id, item.job_id)));
  }
}

function renderJobs(page) {
  const table = $('#jobs-table');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  $('#jobs-caption').textContent = `Jobs of ${jobsView.workspace}${jobsView.status ? ` with status ${jobsView.status}` : ''}, newest first`;
  for (const job of page.items) {
    const row = body.insertRow();
    cell(row, '').append(button(job.job_id, `Open job ${job.job_id}`, () => openJob(jobsView.workspace, job.job_id)));
    cell(row, job.action);
    cell(row, job.status);
    cell(row, String(job.attempts), 'number');
    cell(row, time(job.created_at));
    cell(row, job.error ?? '');
  }
  table.hidden = page.items.length === 0;
  $('#jobs-empty').hidden = page.items.length > 0;
  jobsView.next = page.next_cursor;
  $('#jobs-next').hidden = !page.next_cursor;
  $('#jobs-first').hidden = !jobsView.cursor;
}

function jobsPath() {
  const query = new URLSearchParams({ limit: '20' });
  if (jobsView.status) query.set('status', jobsView.status);
  if (jobsView.cursor) query.set('cursor', jobsView.cursor);
  return `/console/api/workspaces/${encodeURIComponent(jobsView.workspace)}/jobs?${query}`;
}

async function showJobs(workspace, status, cursor = null) {
  Object.assign(jobsView, { workspace, status, cursor });
  $('#jobs-workspace').value = workspace;
  $('#jobs-status').value = status;
  try {
    renderJobs(await api(jobsPath()));
    announce(`Showing jobs of ${workspace}.`);
  } catch (error) {
    failed(error);
  }
}

async function openJob(workspace, jobId) {
  try {
    const job = await api(`/console/api/workspaces/${encodeURIComponent(workspace)}/jobs/${encodeURIComponent(jobId)}`);
    const fields = $('#job-fields');
    fields.replaceChildren();
    for (const name of ['job_id', 'workspace_id', 'actor_id', 'action', 'status', 'attempts', 'error', 'client_request_id', 'created_at', 'started_at', 'finished_at']) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = job[name] === null ? '—' : String(job[name]);
      fields.append(dt, dd);
    }
    $('#job-params').textContent = JSON.stringify(job.params, null, 2);
    $('#job-result').textContent = JSON.stringify(job.result, null, 2);
    $('#job-heading').textContent = `Job ${job.job_id}`;
    $('#job').hidden = false;
    $('#job-heading').focus();
  } catch (error) {
    failed(error);
  }
}

async function requeue(workspace, jobId) {
  try {
    await api(`/console/api/workspaces/${encodeURIComponent(workspace)}/dead/${encodeURIComponent(jobId)}/requeue`, { method: 'POST' });
    announce(`Requeued job ${jobId} of workspace ${workspace}.`);
    await refresh();
  } catch (error) {
    failed(error);
  }
}

async function checkMigration() {
  const list = $('#migration-fields');
  announce('Counting migration status…');
  try {
    const status = await api('/console/api/migration');
    list.replaceChildren();
    const rows = [
      ['Phase', status.phase],
      ['Writes', status.writes === 'dual-write' ? `dual-write (canary ${status.canary_pct}%)` : status.writes],
      ['Reads', status.reads],
      ['Legacy records', `${status.legacy_records} (${status.legacy_only} only in legacy)`],
      ['Scoped records', `${status.scoped_records} (${status.scoped_only} only in scoped)`],
      ['Interrupted backfill', status.backfill_checkpoint ? `at cursor ${status.backfill_checkpoint}` : 'none'],
      ['Counted at', time(status.computed_at)],
    ];
    for (const [name, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = String(value);
      list.append(dt, dd);
    }
    announce(`Migration phase ${status.phase}.`);
  } catch (error) {
    failed(error);
  }
}

/** A 401 or 403 means the key is gone or is no operator key: back to the sign-in form. */
function failed(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return signOut(`Signed out: ${error.message}`);
  announce(`Could not load: ${error.message}`);
}

async function refresh() {
  const [overview, dead] = await Promise.all([api('/console/api/overview'), api('/console/api/dead')]);
  renderQueues(overview);
  renderDead(dead);
  if (jobsView.workspace) renderJobs(await api(jobsPath()));
  $('#updated').textContent = `Last refreshed ${new Date().toLocaleTimeString()}.`;
}

function poll() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    // A hidden tab does not poll: nobody is looking, and Redis pays for every refresh.
    if (!document.hidden) await refresh().catch(failed);
    if (key) poll();
  }, POLL_MS);
}

async function signIn(candidate) {
  key = candidate;
  try {
    await refresh();
  } catch (error) {
    key = null;
    const reason = error instanceof ApiError && error.status === 403 ? 'This key is not an operator key.' : error.message;
    $('#login-error').textContent = `Not signed in: ${reason}`;
    $('#operator-key').focus();
    return;
  }
  sessionStorage.setItem(KEY_ITEM, key);
  $('#login').hidden = true;
  $('#console').hidden = false;
  $('#session').hidden = false;
  $('#login-error').textContent = '';
  $('#main').focus();
  announce('Signed in.');
  poll();
}

function signOut(message = 'Signed out.') {
  key = null;
  lastTotals = undefined;
  clearTimeout(timer);
  sessionStorage.removeItem(KEY_ITEM);
  $('#console').hidden = true;
  $('#session').hidden = true;
  $('#login').hidden = false;
  $('#operator-key').value = '';
  $('#operator-key').focus();
  announce(message);
}

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $('#operator-key').value.trim();
  if (value) void signIn(value);
  else $('#login-error').textContent = 'Enter an operator key.';
});
$('#sign-out').addEventListener('click', () => signOut());
$('#jobs-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const workspace = $('#jobs-workspace').value.trim();
  if (workspace) void showJobs(workspace, $('#jobs-status').value);
});
$('#jobs-next').addEventListener('click', () => void showJobs(jobsView.workspace, jobsView.status, jobsView.next));
$('#jobs-first').addEventListener('click', () => void showJobs(jobsView.workspace, jobsView.status));
$('#migration-check').addEventListener('click', () => void checkMigration());

if (key) void signIn(key);
