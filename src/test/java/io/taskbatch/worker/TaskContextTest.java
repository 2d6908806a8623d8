package io.taskbatch.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.jboss.logging.MDC;
import org.junit.jupiter.api.Test;

class TaskContextTest {
    private static TaskContext ctx(long id) {
        return new TaskContext("ns/b", id, 1, System.nanoTime() + 1_000_000_000L, "trace-" + id);
    }

    @Test
    void bindingSetsTheThreadLocalAndTheMdcAndClosingRestoresThePrevious() {
        assertThat(TaskContext.current()).isNull();
        try (TaskContext.Scope outer = ctx(1).bind()) {
            assertThat(TaskContext.require().taskId()).isEqualTo(1);
            assertThat(MDC.get(TaskContext.MDC_TASK)).isEqualTo("1");
            try (TaskContext.Scope inner = ctx(2).bind()) {
                assertThat(TaskContext.require().taskId()).isEqualTo(2);
                assertThat(MDC.get(TaskContext.MDC_TASK)).isEqualTo("2");
            }
            assertThat(TaskContext.require().taskId()).isEqualTo(1);
            assertThat(MDC.get(TaskContext.MDC_TASK)).isEqualTo("1");
        }
        assertThat(TaskContext.current()).isNull();
        assertThat(MDC.get(TaskContext.MDC_TASK)).isNull();
        assertThat(MDC.get(TaskContext.MDC_BATCH)).isNull();
    }

    @Test
    void wrapCarriesTheContextToAnotherThreadAndLeavesThatThreadClean() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            // the pool thread had a context of its own: wrap must put it back
            pool.submit(() -> ctx(99).bind()).get();
            CompletableFuture<Long> seen = new CompletableFuture<>();
            try (TaskContext.Scope s = ctx(5).bind()) {
                pool.submit(TaskContext.wrap(() -> seen.complete(TaskContext.require().taskId()))).get();
            }
            assertThat(seen.get()).isEqualTo(5);
            assertThat(pool.submit(() -> TaskContext.current().taskId()).get()).isEqualTo(99);
        } finally {
            pool.shutdownNow();
        }
    }
}
