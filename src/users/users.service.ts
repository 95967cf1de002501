import { BadRequestException, Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/app-error';
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

  async update(id: number, dto: UpdateUserDto): Promise<User> {
    if (dto.email === undefined && dto.name === undefined) {
      throw new BadRequestException('provide at least one of: email, name');
    }
    const user = await this.users.update(id, { email: dto.email?.toLowerCase(), name: dto.name });
    if (!user) throw new NotFoundError('user', id);
    return user;
  }
}
