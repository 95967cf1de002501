import 'reflect-metadata';
import { bootstrap } from './bootstrap';

// Background processing only: queue processors, stream consumers, counter flushing, plus
// /health and /metrics on PORT for the orchestrator and Prometheus.
void bootstrap('worker');
