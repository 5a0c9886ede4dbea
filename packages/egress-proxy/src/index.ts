export { classifyAddress, parseAddress, formatAddress, REFUSED_IPV4, REFUSED_IPV6, type AddressRange, type AddressVerdict } from "./address-ranges.js";
export { normalizeHostname, parseDomainPattern, matchDomain, type DomainPattern } from "./domain-names.js";
export {
  compilePolicy,
  decide,
  decideEgress,
  describePolicy,
  invalidDomainPatterns,
  type CompiledPolicy,
  type EgressDecision,
  type EgressPolicy,
  type EgressRequest,
  type EgressTestSettings,
  type ProxiedTier,
} from "./egress-policy.js";
export { parseEgressLog, summarizeEgressLog, fileLog, type EgressLogEntry, type EgressLogSummary, type EgressLogWriter } from "./egress-log.js";
export { createEgressProxy, connectChecked, refusalBody, parseAuthority, systemResolver, type EgressProxyOptions, type Resolver, type CheckedConnection } from "./proxy-server.js";
export { startDnsServers, parseDnsQuery, dnsAnswer, answerQuery, type DnsServers } from "./dns-server.js";
export {
  planEgressImage,
  proxyEnvironment,
  EGRESS_DNS_PORT,
  EGRESS_HOSTNAME,
  EGRESS_LOG_DIR,
  EGRESS_LOG_FILE,
  EGRESS_PROXY_PORT,
  type EgressImagePlan,
} from "./egress-image.js";
