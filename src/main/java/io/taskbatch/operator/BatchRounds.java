package io.taskbatch.operator;

import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;

/**
 * Which round of a batch the operator runs. {@code spec.redrive.round} asks for one; {@code status.round} is the round
 * the master's counts and outcome are of. A round asked for starts once the one before it is decided (the master of a
 * round never runs beside the master of another), and its Jobs are named after it, so that a decided round's Jobs,
 * complete, are never taken for the new round's.
 */
public final class BatchRounds {
    private BatchRounds() {
    }

    /** The round the master's fields of the status are of (0 until a master says otherwise). */
    static int told(TaskBatch batch) {
        TaskBatchStatus s = batch.getStatus();
        return s == null || s.getRound() == null ? 0 : s.getRound();
    }

    /** The round the user asked for. */
    static int wanted(TaskBatch batch) {
        return batch.getSpec().getRedrive() == null ? 0 : batch.getSpec().getRedrive().getRound();
    }

    /** The round to run now: the one asked for once the round the status tells of is decided, else that one. */
    public static int current(TaskBatch batch) {
        int told = told(batch);
        boolean decided = batch.getStatus() != null && batch.getStatus().getOutcome() != null;
        return decided && wanted(batch) > told ? wanted(batch) : told;
    }

    /** Whether a new round starts: the status's outcome is of a round before the current one. */
    static boolean starting(TaskBatch batch) {
        return current(batch) > told(batch);
    }

    /** {@code base} for round 0, {@code base-rN} for round N. */
    static String name(String base, TaskBatch batch) {
        int round = current(batch);
        return round == 0 ? base : base + "-r" + round;
    }
}
