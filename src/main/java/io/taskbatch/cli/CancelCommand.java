package io.taskbatch.cli;

import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.operator.BatchStatusAggregator;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taskbatch cancel NAME}: sets the batch's {@code spec.cancel}, so it stops for good and keeps its results. */
@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = {"Cancel a TaskBatch of a cluster for good (sets spec.cancel): its workers stop, the",
                "tasks not done get a cancelled line in the results, which are kept, and the batch",
                "ends Failed with reason Cancelled. A batch already decided is left as it is."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the batch is cancelled (with --wait: it has stopped), or was already decided",
                "1:with --wait: the batch was deleted before it stopped",
                "2:invalid arguments, no such batch or a refused request",
                "3:the Kubernetes API could not be reached"})
public class CancelCommand implements Callable<Integer> {
    /** A JSON merge patch: the one field, whatever else the batch holds (no read-modify-write, no conflict). */
    public static final String PATCH = "{\"spec\":{\"cancel\":true}}";

    @Parameters(index = "0", paramLabel = "NAME", description = "The batch.")
    String name;

    @Option(names = "--wait", description = "Follow the batch until it has stopped (as taskbatch watch does).")
    boolean waitForStop;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            TaskBatch batch = ClusterCalls.batch(c.client(), c.namespace(), name);
            String phase = batch.getStatus() == null ? null : batch.getStatus().getPhase();
            if (BatchStatusAggregator.finished(phase)) {
                out.println("taskbatch " + name + " is already " + phase + ": nothing to cancel");
                out.flush();
                return ExitCodes.SUCCEEDED;
            }
            ClusterCalls.call(c.client(), () -> c.client().resources(TaskBatch.class).inNamespace(c.namespace())
                    .withName(name).patch(PatchContext.of(PatchType.JSON_MERGE), PATCH));
            out.println("taskbatch " + name + " cancelled: its workers stop and the tasks not done are marked cancelled");
            out.flush();
            if (!waitForStop) return ExitCodes.SUCCEEDED;
            int followed = BatchWatch.follow(c.client(), c.namespace(), name, ProgressPrinter.Mode.PLAIN, err);
            // a cancelled batch ends Failed: that is what was asked for
            return followed == ExitCodes.FAILED && stillThere(c) ? ExitCodes.SUCCEEDED : followed;
        } catch (ClusterCalls.Failed f) {
            return ClusterCalls.report(f, err);
        }
    }

    private boolean stillThere(ClusterOptions.Cluster c) {
        try {
            return c.client().resources(TaskBatch.class).inNamespace(c.namespace()).withName(name).get() != null;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
