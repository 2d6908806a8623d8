package io.taskbatch.master;

import java.util.BitSet;

/**
 * Which task ids already have their final result: the master's guard against counting a result
 * twice when a delivery is repeated (at-least-once delivery, exactly-once accounting). Ids are
 * positions, so a bit set holds a million tasks in 125 KB. Confined to the master's result thread.
 */
public final class ResultLedger {
    private final BitSet done = new BitSet();
    private long count;

    /** Records {@code id}; false when it was already recorded (a duplicate). */
    public boolean record(long id) {
        if (id < 0 || id > Integer.MAX_VALUE) throw new IllegalArgumentException("task id out of range: " + id);
        int i = (int) id;
        if (done.get(i)) return false;
        done.set(i);
        count++;
        return true;
    }

    public boolean contains(long id) {
        return id >= 0 && id <= Integer.MAX_VALUE && done.get((int) id);
    }

    /** A copy, for another thread to read while this one goes on recording. */
    public ResultLedger copy() {
        ResultLedger copy = new ResultLedger();
        copy.done.or(done);
        copy.count = count;
        return copy;
    }

    public long count() {
        return count;
    }

    /**
     * The bytes its bits take (the bit set's words): what grows with the batch, the rest of the master does not
     * (ResultLedgerTest holds 10,000,000 ids to a bound).
     */
    public long footprintBytes() {
        return done.size() / Byte.SIZE;
    }
}
