import 'reflect-metadata';
import { Controller, Get, Post } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { routesWithoutScope } from './auth.guard';
import { Scope } from '../decorators/scope.decorator';
import { API_CONTROLLERS } from '../app.module';

@Controller('v1/things')
class Things {
  @Get()
  @Scope('jobs:read')
  list(): string[] {
    return [];
  }

  @Post()
  create(): void {}

  helper(): void {}
}

describe('routesWithoutScope', () => {
  it('names each route handler without @Scope, and not plain methods', () => {
    expect(routesWithoutScope([Things, null])).toEqual(['Things.create']);
  });

  it('finds none among the API controllers', () => {
    expect(routesWithoutScope(API_CONTROLLERS)).toEqual([]);
  });
});
