import { ValidateBy, type ValidationArguments } from 'class-validator';

export interface HostPort {
  host: string;
  port: number;
}

const ENTRY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * `host:port,host:port` (an IPv6 host in brackets) as entries; [] for an
 * empty list, undefined when an entry is malformed or its port is out of range.
 */
export function parseHostPortList(text: string): HostPort[] | undefined {
  const entries: HostPort[] = [];
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const match = ENTRY.exec(item);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) return undefined;
    entries.push({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  return entries;
}

/** A setting that lists `host:port` entries (parseHostPortList). */
export const IsHostPortList = () =>
  ValidateBy({
    name: 'isHostPortList',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parseHostPortList(value) !== undefined,
      defaultMessage: (args?: ValidationArguments) => `${args?.property} must be comma-separated host:port entries`,
    },
  });

/** A number setting that must stay below another one (e.g. a wait that holds a connection, below that connection's command timeout). */
export const IsBelowSetting = (other: string, appliesWhen: (settings: Record<string, unknown>) => boolean = () => true) =>
  ValidateBy({
    name: 'isBelowSetting',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        const settings = (args?.object ?? {}) as Record<string, unknown>;
        if (!appliesWhen(settings)) return true;
        const limit = settings[other];
        return typeof value === 'number' && typeof limit === 'number' && value < limit;
      },
      defaultMessage: (args?: ValidationArguments) => `${args?.property} must be below ${other}`,
    },
  });
