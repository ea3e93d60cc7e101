export { ACTION_ID_PATTERN, ACTION_PATTERN_PATTERN, decide, matchesAny, parsePermissionRules, type Decision, type PermissionRules } from './permission-rules.js';
export { PermissionsService } from './permissions.service.js';
export { PermissionsModule } from './permissions.module.js';
export { SecretRedactor, REDACTED } from './redact.js';
export { SecretKeyRule } from './secret-key-rule.js';
// outbound/: where Relay's outbound HTTP calls may go (http.post, webhook deliveries).
export { OutboundPolicy, interfaceAddresses } from './outbound/outbound-policy.js';
export { checkedLookup } from './outbound/checked-lookup.js';
export { canonicalAddress, classifyAddress, effectiveAddress, type AddressClass } from './outbound/address-class.js';
