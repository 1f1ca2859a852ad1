import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ApiClient, StopWaiting, type ReceivedResponse } from '@fleettrace/infra/stack';

export type { ReceivedResponse };

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** How specific the template is: literal text wins over a parameter (`/v1/jobs/stats` over `/v1/jobs/{id}`). */
  literals: number;
  operationId: string;
  /** JSON pointer of the operation in the document. */
  pointer: string;
  responses: Record<string, Json>;
}

const DOCUMENT_ID = 'https://fleettrace.invalid/openapi.json';

/**
 * Checks answers against the API's own OpenAPI document (GET /openapi.json): the request is matched
 * to its operation by method and path template, the status must be one it documents, and a JSON
 * body (each line of an NDJSON one) must match that status's schema. A test client runs every
 * answer through it, so a test fails as soon as the API and its document disagree.
 */
export class OpenApiChecker {
  private readonly operations: Operation[];
  private readonly validators = new Map<string, ValidateFunction>();
  // The document's own keywords (openapi, paths...) are no JSON Schema ones; swagger-parser checks those.
  private readonly ajv = new Ajv2020({ allowUnionTypes: true, strictSchema: false });

  constructor(private readonly document: Json) {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    this.operations = Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([template, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        method: method.toUpperCase(),
        template,
        pattern: new RegExp(`^${template.split(/\{\w+\}/).map(escapeRegExp).join('[^/]+')}$`),
        literals: template.replace(/\{\w+\}/g, '').length,
        operationId: String(operation.operationId),
        pointer: `/paths/${escapePointer(template)}/${method}`,
        responses: operation.responses as Record<string, Json>,
      })),
    );
  }

  /** The checker of the API at `baseUrl`, from the document it serves. */
  static async of(baseUrl: string): Promise<OpenApiChecker> {
    const response = await fetch(`${baseUrl}/openapi.json`);
    if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
    return new OpenApiChecker((await response.json()) as Json);
  }

  /** Throws, naming the operation, the status and the first schema error, when the answer does not match. */
  check(response: ReceivedResponse): void {
    const operation = this.operationOf(response);
    const problem = this.problem(response, operation);
    if (problem) {
      const which = operation ? `${operation.operationId}: ${operation.method} ${operation.template}` : 'no operation';
      throw new Error(`${response.method} ${response.path} (${which}) answered ${response.status} unlike /openapi.json: ${problem}`);
    }
  }

  private operationOf({ method, path }: ReceivedResponse): Operation | undefined {
    const pathname = path.split('?')[0]!;
    return this.operations.filter((op) => op.method === method && op.pattern.test(pathname)).sort((a, b) => b.literals - a.literals)[0];
  }

  private problem({ status, contentType, text }: ReceivedResponse, operation: Operation | undefined): string | undefined {
    // An unknown route is Nest's 404, an ErrorBody like any other.
    const responses = operation?.responses ?? { 404: { $ref: '#/components/responses/NotFound' } };
    const documented = responses[String(status)];
    if (!documented) return `status ${status} is not listed`;
    const response = this.resolve(documented);
    const mediaType = contentType.split(';')[0]!.trim();
    const content = (response.content ?? {}) as Record<string, Json>;
    if (Object.keys(content).length === 0) return text === '' ? undefined : `no body is documented, got ${JSON.stringify(text.slice(0, 200))}`;
    const media = content[mediaType];
    if (!media) return `the body is documented as ${Object.keys(content).join(' or ')}, not ${mediaType || 'without a content type'}`;
    if (!media.schema || !/json$/.test(mediaType)) return undefined;
    const responsePointer = typeof documented.$ref === 'string' ? documented.$ref.slice(1) : `${operation!.pointer}/responses/${status}`;
    const validate = this.validator(`${responsePointer}/content/${escapePointer(mediaType)}/schema`);
    const bodies = mediaType === 'application/x-ndjson' ? text.split('\n').filter((line) => line !== '') : [text];
    for (const body of bodies) {
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return `the body is not JSON: ${JSON.stringify(body.slice(0, 200))}`;
      }
      if (!validate(json)) {
        const [error] = validate.errors ?? [];
        return `${error?.instancePath || 'the body'} ${error?.message ?? 'does not match'} ${error ? JSON.stringify(error.params) : ''}`.trim();
      }
    }
    return undefined;
  }

  /** A response object, or the shared one (`#/components/responses/NotFound`) it refers to. */
  private resolve(response: Json): Json {
    return typeof response.$ref === 'string' ? (this.at(response.$ref) as Json) : response;
  }

  private at(ref: string): unknown {
    return ref
      .slice(2)
      .split('/')
      .map(unescapePointer)
      .reduce<unknown>((node, key) => (node as Json)[key], this.document);
  }

  private validator(pointer: string): ValidateFunction {
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer.split('/').map(encodeURIComponent).join('/')}` });
      this.validators.set(pointer, validate);
    }
    return validate;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(key: string): string {
  return key.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The stack's ApiClient, checking every answer against the document of the API it talks to. */
export class CheckedApiClient extends ApiClient {
  private constructor(baseUrl: string, token: string, private readonly document: OpenApiChecker) {
    super(baseUrl, token);
  }

  static async of(baseUrl: string, token: string): Promise<CheckedApiClient> {
    return new CheckedApiClient(baseUrl, token, await OpenApiChecker.of(baseUrl));
  }

  protected override received(response: ReceivedResponse): void {
    try {
      this.document.check(response);
    } catch (error) {
      // No transient state to wait out: a polling waitFor fails at once rather than at its timeout.
      throw new StopWaiting((error as Error).message);
    }
  }
}
