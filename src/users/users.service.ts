import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common';
import { currentLock, LockLostError, WithLock } from '../lock';
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

  /** Whether user `id` exists (a cheaper read than {@link get}). */
  exists(id: number): Promise<boolean> {
    return this.users.exists(id);
  }

  /**
   * Throws NotFoundError (404) unless user `id` exists: for routes under `/api/users/:id` that
   * other modules serve (posts, followers).
   */
  async requireExists(id: number): Promise<void> {
    if (!(await this.users.exists(id))) throw new NotFoundError('user', id);
  }

  create(dto: CreateUserDto): Promise<User> {
    return this.users.create({ email: dto.email.toLowerCase(), name: dto.name });
  }

  /**
   * A read-modify-write (the new `version` is computed here, not in SQL), so it runs under the
   * `user:{id}` lock — on this method, so no caller can skip it, and after the controller's
   * pipes, so invalid input never touches Redis. The lock's fencing token goes with the write,
   * which the database refuses if a newer holder has written since.
   */
  @WithLock({ key: 'user:{0}', ttl: 10_000 })
  async update(id: number, dto: UpdateUserDto): Promise<User> {
    const lock = currentLock();
    if (!lock) throw new Error('UsersService.update must run under its @WithLock');
    const version = await this.users.version(id);
    if (version === null) throw new NotFoundError('user', id);
    const user = await this.users.update(
      id,
      { email: dto.email?.toLowerCase(), name: dto.name },
      version + 1,
      lock.fencingToken,
    );
    if (user) return user;
    if ((await this.users.version(id)) === null) throw new NotFoundError('user', id);
    throw new LockLostError(lock.resource, 'a newer lock holder has written this user');
  }
}
