"""Operations: schedules and their runs, temp purge, orphan sweep, queues and dead letters."""
