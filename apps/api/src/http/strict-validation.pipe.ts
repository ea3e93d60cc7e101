import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';

/**
 * The global ValidationPipe, which also refuses query parameters named after
 * an Object.prototype member (`constructor`, `hasOwnProperty`, `__proto__`,
 * …) the way it refuses any other unknown parameter: class-validator's
 * whitelist takes such names for declared properties, so they would pass
 * unnoticed. Bodies get the same check when they are read, at any depth
 * (json-body.middleware.ts).
 */
export class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'query' && value !== null && typeof value === 'object') {
      const inherited = Object.keys(value).filter((name) => name in Object.prototype);
      if (inherited.length > 0) throw new BadRequestException(inherited.map((name) => `property ${name} should not exist`));
    }
    return super.transform(value, metadata);
  }
}
