// What the console shows: DOM writing only, no requests and no state. Every
// value from the API is written as text (textContent), never as HTML: job
// fields come from tenants.
export const $ = (selector) => document.querySelector(selector);

/** Says it in the polite live region (screen readers read it when idle). */
export function announce(text) {
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

function definitions(list, rows) {
  list.replaceChildren();
  for (const [name, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    dd.textContent = value === null || value === undefined ? '—' : String(value);
    list.append(dt, dd);
  }
}

/** The queue table; returns a one-line summary of the totals. */
export function renderQueues(overview, showJobs) {
  const body = $('#queues-table tbody');
  body.replaceChildren();
  for (const ws of overview.workspaces) {
    const row = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = ws.workspace_id;
    row.append(th);
    for (const state of ['pending', 'running', 'delayed', 'retrying', 'dead']) cell(row, String(ws[state]), 'number');
    cell(row, '').append(button('Show jobs', `Show jobs of ${ws.workspace_id}`, () => showJobs(ws.workspace_id)));
  }
  for (const td of document.querySelectorAll('[data-total]')) td.textContent = String(overview.totals[td.dataset.total]);
  const notes = [];
  if (overview.workspaces.length === 0) notes.push('No workspace has jobs.');
  if (overview.workspaces_truncated) notes.push('Only the first workspaces are listed.');
  if (overview.counts_capped) notes.push('The delayed set, retry set or dead-letter list is too long to count per workspace in full: counts are lower bounds.');
  $('#queues-note').textContent = notes.join(' ');
  const t = overview.totals;
  return `${t.pending} pending, ${t.running} running, ${t.delayed} delayed, ${t.retrying} retrying, ${t.dead} dead`;
}

export function renderDead(dead, { openJob, requeue }) {
  $('#dead-caption').textContent = `Newest dead letters (${dead.total} in all)`;
  const body = $('#dead-table tbody');
  body.replaceChildren();
  for (const { workspace_id: ws, job_id: id, job } of dead.items) {
    const row = body.insertRow();
    cell(row, ws);
    cell(row, '').append(button(id, `Open job ${id} of workspace ${ws}`, () => openJob(ws, id)));
    cell(row, job?.action ?? '(expired)');
    cell(row, job?.error ?? '');
    cell(row, time(job?.finished_at));
    cell(row, '').append(button('Requeue', `Requeue job ${id} of workspace ${ws}`, () => requeue(ws, id)));
  }
}

/** One page of a workspace's jobs; `view` is {workspace, status, cursor}. */
export function renderJobs(view, page, openJob) {
  const table = $('#jobs-table');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  $('#jobs-caption').textContent = `Jobs of ${view.workspace}${view.status ? ` with status ${view.status}` : ''}, newest first`;
  for (const job of page.items) {
    const row = body.insertRow();
    cell(row, '').append(button(job.job_id, `Open job ${job.job_id}`, () => openJob(view.workspace, job.job_id)));
    cell(row, job.action);
    cell(row, job.status);
    cell(row, String(job.attempts), 'number');
    cell(row, time(job.created_at));
    cell(row, job.error ?? '');
  }
  table.hidden = page.items.length === 0;
  $('#jobs-empty').hidden = page.items.length > 0;
  $('#jobs-next').hidden = !page.next_cursor;
  $('#jobs-first').hidden = !view.cursor;
}

/** One job (params already redacted by the API); when opened, focus goes to its heading so a screen reader starts there. */
export function renderJob(job, { focus }) {
  const fields = ['job_id', 'workspace_id', 'actor_id', 'action', 'status', 'attempts', 'error', 'client_request_id', 'created_at', 'started_at', 'finished_at'];
  definitions($('#job-fields'), fields.map((name) => [name, job[name]]));
  $('#job-params').textContent = JSON.stringify(job.params, null, 2);
  $('#job-result').textContent = JSON.stringify(job.result, null, 2);
  $('#job-heading').textContent = `Job ${job.job_id}`;
  $('#job').hidden = false;
  if (focus) $('#job-heading').focus();
}

export function renderMigration(status) {
  definitions($('#migration-fields'), [
    ['Phase', status.phase],
    ['Writes', status.writes === 'dual-write' ? `dual-write (canary ${status.canary_pct}%)` : status.writes],
    ['Reads', status.reads],
    ['Legacy records', `${status.legacy_records} (${status.legacy_only} only in legacy)`],
    ['Scoped records', `${status.scoped_records} (${status.scoped_only} only in scoped)`],
    ['Interrupted backfill', status.backfill_checkpoint ? `at cursor ${status.backfill_checkpoint}` : 'none'],
    ['Counted at', time(status.computed_at)],
  ]);
}

/** Shows the console (signed in) or the sign-in form. */
export function showSignedIn(signedIn) {
  $('#login').hidden = signedIn;
  $('#console').hidden = !signedIn;
  $('#session').hidden = !signedIn;
}
