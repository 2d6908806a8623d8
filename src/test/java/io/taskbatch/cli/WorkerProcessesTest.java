package io.taskbatch.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbatch.api.RunSpec;
import io.taskbatch.worker.TaskExecutors;
import io.taskbatch.worker.TaskHandlers;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkerProcessesTest {
    private static final List<String> PARENT = List.of("/jdk/bin/java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", "t.jar");

    @Test
    void aWorkerThatOnlyMovesMessagesAndChildrensOutputRunsC1Alone() {
        TaskHandlers builtins = TaskHandlers.standard();
        for (RunSpec run : List.of(builtin("echo"), builtin("sleep"), builtin("square"), command(), pool())) {
            boolean optimizing = TaskExecutors.needsOptimizingCompiler(run, builtins);
            assertThat(optimizing).as("%s", run).isFalse();
            assertThat(WorkerProcesses.withCompiler(PARENT, optimizing))
                    .containsExactly("/jdk/bin/java", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-jar", "t.jar");
        }
    }

    @Test
    void aWorkerHashingInItsJvmKeepsC2EvenWhenItsParentRunsC1() {
        boolean optimizing = TaskExecutors.needsOptimizingCompiler(builtin("sha256"), TaskHandlers.standard());
        assertThat(optimizing).isTrue();
        assertThat(WorkerProcesses.withCompiler(PARENT, optimizing)).containsExactly("/jdk/bin/java", "-Xshare:auto", "-jar", "t.jar");
    }

    @Test
    void aWorkerIsStartedFromTheClassPathOnlyWhenItsParentWas() {
        // bin/taskbatch starts Quarkus's main class from the class path; the image and `java -jar` start the jar
        assertThat(WorkerProcesses.startedFromClassPath("io.quarkus.runner.GeneratedMain run m.yaml --worker-processes 2")).isTrue();
        assertThat(WorkerProcesses.startedFromClassPath("io.quarkus.runner.GeneratedMain")).isTrue();
        assertThat(WorkerProcesses.startedFromClassPath("/deployments/quarkus-run.jar worker --manifest m.yaml")).isFalse();
        assertThat(WorkerProcesses.startedFromClassPath("io.quarkus.runner.GeneratedMainX run")).isFalse();
    }

    private static RunSpec builtin(String name) {
        RunSpec run = new RunSpec();
        run.setBuiltin(name);
        return run;
    }

    private static RunSpec command() {
        RunSpec run = new RunSpec();
        run.setCommand(List.of("sha256sum"));
        return run;
    }

    private static RunSpec pool() {
        RunSpec run = new RunSpec();
        RunSpec.ProcessPoolSpec pool = new RunSpec.ProcessPoolSpec();
        pool.setCommand(List.of("python3", "pool.py"));
        run.setProcessPool(pool);
        return run;
    }
}
