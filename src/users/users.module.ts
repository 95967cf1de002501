import { Module } from '@nestjs/common';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersSeeder } from './users.seeder';
import { UsersService } from './users.service';

/**
 * Users. Other modules go through `UsersService` (`get`, `exists`, `requireExists`); the auth
 * module gets it as its `UserDirectory`.
 */
@Module({
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, UsersSeeder],
  exports: [UsersService],
})
export class UsersModule {}
