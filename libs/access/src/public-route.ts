import { SetMetadata } from '@nestjs/common';

/**
 * Route access metadata that more than one lib needs: the auth guard reads
 * it, and the telemetry lib's health and metrics controllers set it. It
 * lives here, apart from auth, so that a lib that only marks its routes
 * public depends on nothing but Nest.
 */
export const PUBLIC_ROUTE = Symbol('relay:public-route');

/** Marks a route or controller as reachable without an API key (health, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
