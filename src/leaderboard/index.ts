export * from './leaderboard.module';
export * from './leaderboard.service';
