export interface JobDeclaration {
  queue: string;
  name: string;
}

export interface JobHandlerMetadata extends JobDeclaration {
  method: string;
}

const ON_JOB = Symbol('fleettrace:on-job');

/** Marks a service method as the handler of one named job of one queue; it receives the job's data. */
export function OnJob(declaration: JobDeclaration): MethodDecorator {
  return (target, method) => {
    const handlers: JobHandlerMetadata[] = Reflect.getMetadata(ON_JOB, target.constructor) ?? [];
    Reflect.defineMetadata(ON_JOB, [...handlers, { ...declaration, method: String(method) }], target.constructor);
  };
}

export function jobHandlersOf(type: object): JobHandlerMetadata[] {
  return Reflect.getMetadata(ON_JOB, type) ?? [];
}
