import { BadRequestException, Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/app-error';
import { currentLock } from '../lock/lock.context';
import { LockLostError } from '../lock/lock.errors';
import { CreateUserDto, UpdateUserDto } from './users.dto';
import { User, UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async get(id: number): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundError('user', id);
    return user;
  }

  create(dto: CreateUserDto): Promise<User> {
    return this.users.create({ email: dto.email.toLowerCase(), name: dto.name });
  }

  /**
   * A read-modify-write (the new `version` is computed here, not in SQL), so it must run under
   * the `user:{id}` lock (`@WithLock` on the route); the lock's fencing token goes with the
   * write, which the database refuses if a newer holder has written since.
   */
  async update(id: number, dto: UpdateUserDto): Promise<User> {
    if (dto.email === undefined && dto.name === undefined) {
      throw new BadRequestException('provide at least one of: email, name');
    }
    const lock = currentLock();
    const version = await this.users.version(id);
    if (version === null) throw new NotFoundError('user', id);
    const user = await this.users.update(
      id,
      { email: dto.email?.toLowerCase(), name: dto.name },
      version + 1,
      lock?.fencingToken,
    );
    if (user) return user;
    if ((await this.users.version(id)) === null) throw new NotFoundError('user', id);
    throw new LockLostError(
      lock?.resource ?? `user:${id}`,
      'a newer lock holder has written this user',
    );
  }
}
