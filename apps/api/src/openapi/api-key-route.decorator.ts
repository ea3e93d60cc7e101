import { applyDecorators } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import { Scopes, type Scope } from '@relay/auth';
import { ApiErrorResponses } from './error-responses.js';

/** The name of the API key's security scheme in the OpenAPI document. */
export const API_KEY_SCHEME = 'api_key';

/**
 * A route behind the API key: the scopes the guard enforces (@Scopes) and,
 * from the same list, the route's security requirement in the OpenAPI
 * document (OpenAPI 3.1 lets a bearer requirement name the roles it needs),
 * with the answers every such route can give.
 */
export const ApiKeyRoute = (...scopes: Scope[]) => applyDecorators(Scopes(...scopes), ApiSecurity(API_KEY_SCHEME, scopes), ApiErrorResponses(401, 403, 429, 500, 503));
