package io.taskbatch.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.taskbatch.api.RedriveSpec;
import io.taskbatch.api.TaskBatch;
import io.taskbatch.api.TaskBatchStatus;
import io.taskbatch.cluster.ResultsConfigMapWriter;
import io.taskbatch.master.Round;
import io.taskbatch.operator.BatchStatusAggregator;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code taskbatch redrive NAME}: a new round of a decided batch (raises {@code spec.redrive.round}), in which its
 * failed, dead or cancelled tasks run again with their ids; their new results replace the old ones, the others stay.
 */
@Command(name = "redrive", mixinStandardHelpOptions = true,
        description = {"Run again the failed, dead or cancelled tasks of a decided TaskBatch of a cluster,",
                "as a new round of the same batch: the tasks keep their ids, their new results replace",
                "the old ones, every other result is kept, and the counts are the whole batch's.",
                "Without --failed, --dead or --cancelled, all three kinds run again."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the round started (with --wait: it succeeded), or there was nothing to run again",
                "1:with --wait: the round failed, or the batch was deleted",
                "2:invalid arguments, no such batch, a batch still running, results that were not all kept, "
                        + "or a refused request",
                "3:the Kubernetes API could not be reached"})
public class RedriveCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration OPERATOR_SEES_IT = Duration.ofSeconds(60);

    @Parameters(index = "0", paramLabel = "NAME", description = "The batch.")
    String name;

    @Option(names = "--failed", description = "Run again the tasks that failed (dead ones aside).")
    boolean failed;

    @Option(names = "--dead", description = "Run again the dead tasks (their workers died, or their message was malformed).")
    boolean dead;

    @Option(names = "--cancelled", description = "Run again the tasks the batch stopped before they ran.")
    boolean cancelled;

    @Option(names = "--wait", description = "Follow the round until it is decided (as taskbatch watch does).")
    boolean waitForIt;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        List<String> select = new ArrayList<>();
        if (failed) select.add("failed");
        if (dead) select.add("dead");
        if (cancelled) select.add("cancelled");
        if (select.isEmpty()) select = RedriveSpec.KINDS;
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            TaskBatch batch = ClusterCalls.batch(c.client(), c.namespace(), name);
            TaskBatchStatus s = batch.getStatus() == null ? new TaskBatchStatus() : batch.getStatus();
            if (!BatchStatusAggregator.finished(s.getPhase()) || s.getOutcome() == null) {
                err.println("taskbatch " + name + " is " + (s.getPhase() == null ? "not started" : s.getPhase())
                        + ": a redrive runs tasks of a decided batch again; wait for it (taskbatch watch " + name
                        + "), or stop it first (taskbatch cancel " + name + ")");
                return ExitCodes.INVALID;
            }
            if (s.getResults() != null && s.getResults().contains(ResultsConfigMapWriter.CAPPED)) {
                err.println("taskbatch " + name + " kept only some of its results (" + s.getResults() + "): a redrive would "
                        + "run again every task whose result was not kept. Give the batch spec.results.claimName and run it again.");
                return ExitCodes.INVALID;
            }
            Round round = Round.of(nz(s.getRound()) + 1, select);
            long again = 0;
            for (Round.Kind kind : round.select()) {
                again += switch (kind) {
                    case FAILED -> nz(s.getFailed()) - nz(s.getDead());
                    case DEAD -> nz(s.getDead());
                    case CANCELLED -> nz(s.getCancelled());
                };
            }
            if (again == 0) {
                out.println("taskbatch " + name + " has no " + round.describe().replace(" and ", " or ") + " tasks: nothing to run again");
                out.flush();
                return ExitCodes.SUCCEEDED;
            }
            // the round after the one decided, only if nobody changed the batch since it was read (the resourceVersion
            // makes the merge patch conditional); a cancel is lifted, or the round would stop at once
            ObjectNode patch = JSON.createObjectNode();
            patch.putObject("metadata").put("resourceVersion", batch.getMetadata().getResourceVersion());
            ObjectNode specPatch = patch.putObject("spec");
            specPatch.put("cancel", false);
            ObjectNode redrive = specPatch.putObject("redrive");
            redrive.put("round", round.number());
            select.forEach(redrive.putArray("select")::add);
            TaskBatch patched = ClusterCalls.call(c.client(), () -> c.client().resources(TaskBatch.class)
                    .inNamespace(c.namespace()).withName(name).patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString()));
            out.println("taskbatch " + name + " round " + round.number() + ": " + Plural.of(again, "task") + " run again (the "
                    + round.describe() + " ones); the other results are kept");
            out.flush();
            if (!waitForIt) return ExitCodes.SUCCEEDED;
            awaitOperator(c, patched.getMetadata().getGeneration());
            return BatchWatch.follow(c.client(), c.namespace(), name, ProgressPrinter.Mode.PLAIN, err);
        } catch (ClusterCalls.Failed f) {
            return ClusterCalls.report(f, err);
        }
    }

    /** Until the operator's status is of {@code generation} (the decided round's phase is not this one's). */
    private void awaitOperator(ClusterOptions.Cluster c, Long generation) throws InterruptedException {
        long deadline = System.nanoTime() + OPERATOR_SEES_IT.toNanos();
        while (generation != null && System.nanoTime() < deadline) {
            TaskBatch now = ClusterCalls.call(c.client(), () -> c.client().resources(TaskBatch.class)
                    .inNamespace(c.namespace()).withName(name).get());
            if (now == null || now.getStatus() == null || now.getStatus().getObservedGeneration() == null
                    || now.getStatus().getObservedGeneration() >= generation) {
                return;
            }
            Thread.sleep(BatchWatch.POLL.toMillis());
        }
    }

    private static long nz(Long v) {
        return v == null ? 0 : v;
    }

    private static int nz(Integer v) {
        return v == null ? 0 : v;
    }
}
