export { RelayConfig, type OnOff, type RelaySettingName } from './relay-config.js';
export { loadConfig, settingNames, ConfigError } from './load-config.js';
export { maskCredentials } from './mask-credentials.js';
export { configFromProcessEnv, loadSettings, RELAY_SETTINGS, type RelaySettings, type LoadedSettings } from './config-source.js';
export { RelayConfigModule } from './relay-config.module.js';
export { runMain } from './startup-check.js';
export { parseHostPortList, type HostPort } from './setting-checks.js';
export { trustProxyValue } from './trust-proxy.js';
