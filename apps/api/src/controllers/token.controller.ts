import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { BOOTSTRAP_TOKEN_ID, CreateTokenRequest, CreatedTokenView, TokenView } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { Auth } from '../middleware/auth.guard';
import { Scope } from '../decorators/scope.decorator';
import type { AuthContext } from '../services/auth.service';
import { TokenService } from '../services/token.service';

const TOKEN_ID_MESSAGE = `token id must be a UUID or "${BOOTSTRAP_TOKEN_ID}"`;
const TokenIdParam = z.string().refine((id) => id === BOOTSTRAP_TOKEN_ID || z.guid().safeParse(id).success, TOKEN_ID_MESSAGE);

@Controller('v1/tokens')
export class TokenController {
  constructor(@Inject(TokenService) private readonly tokens: TokenService) {}

  @Post()
  @ApiRoute({
    summary: 'A new token with the given scopes, optionally limited to a host selector and an expiry.',
    description: 'The secret is in this answer only; the API keeps its HMAC. Needs the admin scope.',
    responses: { 201: CreatedTokenView },
  })
  @Scope('admin')
  create(@Auth() auth: AuthContext, @Body(new ZodValidationPipe(CreateTokenRequest)) request: CreateTokenRequest): Promise<CreatedTokenView> {
    return this.tokens.create(auth, request);
  }

  @Get()
  @ApiRoute({ summary: 'Every token, revoked ones included; never a secret. Needs the admin scope.', responses: { 200: z.array(TokenView) } })
  @Scope('admin')
  list(): Promise<TokenView[]> {
    return this.tokens.list();
  }

  @Delete(':id')
  @ApiRoute({ summary: 'Revokes the token: its next request gets 401. Revoking twice is harmless. Needs the admin scope.', responses: { 204: { description: 'Revoked.' } }, errors: [404] })
  @HttpCode(204)
  @Scope('admin')
  revoke(@Auth() auth: AuthContext, @Param('id', new ZodValidationPipe(TokenIdParam, 'token id')) id: string): Promise<void> {
    return this.tokens.revoke(auth, id);
  }
}
