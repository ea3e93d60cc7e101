/**
 * A status index member is `<created_at>/<job_id>`. created_at is a
 * fixed-width ISO 8601 UTC string, so members sort by creation time; each
 * index is a sorted set with all scores 0, read with ZRANGE BYLEX REV, and a
 * page costs O(log n + limit) (O(5 log n + 5 limit) merging all five). The
 * job id after the slash breaks ties.
 */
const MEMBER_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\/[A-Za-z0-9._-]{1,128}$/;

export function indexMember(createdAt: string, jobId: string): string {
  return `${createdAt}/${jobId}`;
}

export function isIndexMember(value: string): boolean {
  return MEMBER_PATTERN.test(value);
}
