import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** What the contract test knows of a real answer. */
export interface RealResponse {
  status: number;
  /** Header names in any case. */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the text of a non-JSON one. */
  body: unknown;
}

type Json = Record<string, unknown>;
const DOC = 'openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** JSON Pointer escaping of one path segment (RFC 6901). */
const escape = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Checks real answers against an OpenAPI 3.1 document: the status must be
 * one the operation documents, the media type one of that response's, the
 * body valid against its schema (JSON Schema 2020-12, the dialect of
 * OpenAPI 3.1, with ajv), every required header present and every
 * documented header's value valid against its schema. Each (operation,
 * status) checked is recorded, so a walk can tell what it never exercised.
 */
export class OpenApiResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  readonly covered = new Set<string>();

  constructor(private readonly document: Json) {
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
    this.ajv.addSchema(document, DOC);
  }

  /** `METHOD path-template status` for every response the document lists. */
  documentedResponses(): string[] {
    const all: string[] = [];
    for (const [template, item] of Object.entries(this.document.paths as Json)) {
      for (const method of METHODS) {
        const operation = (item as Json)[method] as Json | undefined;
        if (operation) for (const status of Object.keys(operation.responses as Json)) all.push(`${method.toUpperCase()} ${template} ${status}`);
      }
    }
    return all;
  }

  /** The problems of a real answer to `method path` (an empty list when it matches the document). */
  problems(method: string, path: string, res: RealResponse): string[] {
    const template = this.templateOf(path);
    if (!template) return [`${method} ${path}: no such path in the document`];
    const operationPointer = `/paths/${escape(template)}/${method.toLowerCase()}`;
    const operation = this.at(operationPointer);
    if (!operation) return [`${method} ${template}: no such operation in the document`];
    const label = `${method.toUpperCase()} ${template} ${res.status}`;
    const response = (operation.responses as Json)[String(res.status)] as Json | undefined;
    if (!response) return [`${label}: status not documented`];
    this.covered.add(label);
    const responsePointer = `${operationPointer}/responses/${res.status}`;
    return [...this.headerProblems(label, responsePointer, response, res), ...this.bodyProblems(label, responsePointer, response, res)];
  }

  /** Validates `value` against the schema at a JSON Pointer of the document; the problems, if any. */
  validateAt(pointer: string, value: unknown): string[] {
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOC}#${pointer}` });
      this.validators.set(pointer, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  private headerProblems(label: string, pointer: string, response: Json, res: RealResponse): string[] {
    const problems: string[] = [];
    const received = new Map(Object.entries(res.headers).map(([name, value]) => [name.toLowerCase(), value]));
    for (const [name, declared] of Object.entries((response.headers ?? {}) as Json)) {
      const { header, headerPointer } = this.resolveHeader(`${pointer}/headers/${escape(name)}`, declared as Json);
      const value = received.get(name.toLowerCase());
      if (value === undefined) {
        if (header.required === true) problems.push(`${label}: required header ${name} missing`);
        continue;
      }
      for (const problem of this.validateAt(`${headerPointer}/schema`, value)) problems.push(`${label}: header ${name}=${String(value)}: ${problem}`);
    }
    return problems;
  }

  private bodyProblems(label: string, pointer: string, response: Json, res: RealResponse): string[] {
    const content = response.content as Json | undefined;
    const contentType = String(res.headers['content-type'] ?? res.headers['Content-Type'] ?? '');
    if (!content) return contentType === '' ? [] : [`${label}: documents no body, got ${contentType}`];
    const mediaType = contentType.split(';')[0].trim().toLowerCase();
    if (!(mediaType in content)) return [`${label}: media type ${mediaType || '(none)'} not documented (${Object.keys(content).join(', ')})`];
    return this.validateAt(`${pointer}/content/${escape(mediaType)}/schema`, res.body).map((problem) => `${label}: body ${problem}`);
  }

  private resolveHeader(pointer: string, declared: Json): { header: Json; headerPointer: string } {
    const ref = declared.$ref;
    if (typeof ref !== 'string') return { header: declared, headerPointer: pointer };
    const target = ref.replace(/^#/, '');
    return { header: this.at(target) ?? {}, headerPointer: target };
  }

  /** The path template a concrete path falls under (`/ai/jobs/abc` → `/ai/jobs/{id}`). */
  private templateOf(path: string): string | undefined {
    const bare = path.split('?')[0];
    return Object.keys(this.document.paths as Json).find((template) =>
      new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`).test(bare),
    );
  }

  private at(pointer: string): Json | undefined {
    let node: unknown = this.document;
    for (const segment of pointer.split('/').slice(1)) {
      node = (node as Json | undefined)?.[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
    }
    return node as Json | undefined;
  }
}
