package io.taskbatch.master;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ResultLedgerTest {
    @Test
    void countsEachIdOnce() {
        ResultLedger ledger = new ResultLedger();
        assertThat(ledger.record(5)).isTrue();
        assertThat(ledger.record(5)).isFalse();
        assertThat(ledger.record(0)).isTrue();
        assertThat(ledger.count()).isEqualTo(2);
        assertThat(ledger.contains(5)).isTrue();
        assertThat(ledger.contains(4)).isFalse();
    }

    @Test
    void dropsDuplicatesAmongAMillionTasks() {
        ResultLedger ledger = new ResultLedger();
        for (long id = 999_999; id >= 0; id--) assertThat(ledger.record(id)).isTrue();
        for (long id = 0; id < 1_000_000; id += 7) assertThat(ledger.record(id)).isFalse();
        assertThat(ledger.count()).isEqualTo(1_000_000);
    }

    /**
     * The master's memory for a batch is this ledger plus a bounded rest (the publish window, the result prefetch):
     * 10,000,000 tasks in at most 2 MB, about a bit each, whatever order the results come in.
     */
    @Test
    void tenMillionTasksTakeAtMostTwoMegabytes() {
        ResultLedger ledger = new ResultLedger();
        int tasks = 10_000_000;
        for (int stride = 0; stride < 3; stride++) {
            for (long id = stride; id < tasks; id += 3) ledger.record(id);
        }
        assertThat(ledger.count()).isEqualTo(tasks);
        assertThat(ledger.record(tasks - 1)).isFalse();
        assertThat(ledger.footprintBytes()).isBetween(tasks / 8L, 2L << 20);
    }
}
