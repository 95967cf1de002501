import { Inject } from '@nestjs/common';

export const APP_CONFIG = 'CONFIG:APP';

/** Injects the validated {@link AppConfig}. */
export const InjectConfig = (): ParameterDecorator & PropertyDecorator => Inject(APP_CONFIG);
