-- Counter write-back batches already applied (src/counters): the flush inserts its batch id in
-- the same transaction as the increments, so a batch is applied at most once even when a
-- flusher dies after committing and another one retries the batch.
CREATE TABLE counter_flushes (
  batch_id   text PRIMARY KEY,
  counter    text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)
