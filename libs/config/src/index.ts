export { RelayConfig, type OnOff, type RelaySettingName } from './relay-config.js';
export { loadConfig, settingNames, ConfigError, maskCredentials } from './load-config.js';
export { configFromProcessEnv } from './process-env.js';
export { RelayConfigModule } from './relay-config.module.js';
export { runMain } from './startup-check.js';
export { trustProxyValue } from './trust-proxy.js';
