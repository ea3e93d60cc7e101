// The operator console (README "Operator console"): plain DOM, no framework,
// nothing fetched from anywhere but this API. This file holds the state and
// the requests; console-view.js writes the page.
import { $, announce, renderDead, renderJob, renderJobs, renderMigration, renderQueues, showSignedIn } from './console-view.js';

const POLL_MS = 3000;
const KEY_ITEM = 'relay-operator-key';

// The key lives in sessionStorage: it goes when the tab closes, and only ever travels in the Authorization header.
let key = sessionStorage.getItem(KEY_ITEM);
let timer;
let lastTotals;
const jobsView = { workspace: '', status: '', cursor: null, next: null };
// The job shown in detail, kept up to date by each refresh.
let openedJob = null;

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

const ws = (workspace) => `/console/api/workspaces/${encodeURIComponent(workspace)}`;

function jobsPath() {
  const query = new URLSearchParams({ limit: '20' });
  if (jobsView.status) query.set('status', jobsView.status);
  if (jobsView.cursor) query.set('cursor', jobsView.cursor);
  return `${ws(jobsView.workspace)}/jobs?${query}`;
}

async function loadJobs() {
  const page = await api(jobsPath());
  jobsView.next = page.next_cursor;
  renderJobs(jobsView, page, openJob);
}

async function showJobs(workspace, status = '', cursor = null) {
  Object.assign(jobsView, { workspace, status, cursor });
  $('#jobs-workspace').value = workspace;
  $('#jobs-status').value = status;
  try {
    await loadJobs();
    announce(`Showing jobs of ${workspace}.`);
  } catch (error) {
    failed(error);
  }
}

const loadJob = ({ workspace, jobId }) => api(`${ws(workspace)}/jobs/${encodeURIComponent(jobId)}`);

async function openJob(workspace, jobId) {
  try {
    openedJob = { workspace, jobId };
    renderJob(await loadJob(openedJob), { focus: true });
  } catch (error) {
    failed(error);
  }
}

async function requeue(workspace, jobId) {
  try {
    await api(`${ws(workspace)}/dead/${encodeURIComponent(jobId)}/requeue`, { method: 'POST' });
    announce(`Requeued job ${jobId} of workspace ${workspace}.`);
    await refresh();
  } catch (error) {
    failed(error);
  }
}

async function checkMigration() {
  announce('Counting migration status…');
  try {
    const status = await api('/console/api/migration');
    renderMigration(status);
    announce(`Migration phase ${status.phase}.`);
  } catch (error) {
    failed(error);
  }
}

/** The job in detail, again; one that has expired meanwhile is closed rather than reported on every refresh. */
async function reloadJob() {
  try {
    renderJob(await loadJob(openedJob), { focus: false });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    announce(`Job ${openedJob.jobId} is no longer stored.`);
    openedJob = null;
    $('#job').hidden = true;
  }
}

/** A 401 or 403 means the key is gone or is no operator key: back to the sign-in form. */
function failed(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return signOut(`Signed out: ${error.message}`);
  announce(`Could not load: ${error.message}`);
}

async function refresh() {
  const [overview, dead] = await Promise.all([api('/console/api/overview'), api('/console/api/dead')]);
  const totals = renderQueues(overview, (workspace) => showJobs(workspace));
  // Announced only when something changed, so a screen reader is not told the same numbers every few seconds.
  if (lastTotals !== undefined && lastTotals !== totals) announce(`Queues updated: ${totals}.`);
  lastTotals = totals;
  renderDead(dead, { openJob, requeue });
  if (jobsView.workspace) await loadJobs();
  if (openedJob) await reloadJob();
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
  showSignedIn(true);
  $('#login-error').textContent = '';
  $('#main').focus();
  announce('Signed in.');
  poll();
}

function signOut(message = 'Signed out.') {
  key = null;
  openedJob = null;
  lastTotals = undefined;
  clearTimeout(timer);
  sessionStorage.removeItem(KEY_ITEM);
  showSignedIn(false);
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
