import 'reflect-metadata';
import { bootstrap } from './bootstrap';

// HTTP + WebSocket (APP_ROLE=api), or everything in one process (APP_ROLE=all, the default).
void bootstrap();
