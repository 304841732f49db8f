export { createAuditLog, queryAudit, type AuditLog, type AuditLogOptions, type AuditQuery } from './query-audit.js';
export { decodeAuditEntry, type AuditEntry, type AuditKind } from './audit-entry.js';
