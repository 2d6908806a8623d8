package io.taskbatch.cli;

import io.taskbatch.api.TaskBatch;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taskbatch get [NAME]}: the batches of a namespace as {@code kubectl get tb} shows them. */
@Command(name = "get", mixinStandardHelpOptions = true,
        description = {"Show TaskBatches of a cluster as kubectl get tb does: phase, tasks done,",
                "failed, workers, rate, time left and age of each, read from its status."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:shown (no batches is no error)", "2:invalid arguments, no such batch or a refused request",
                "3:the Kubernetes API could not be reached"})
public class GetCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME", description = "One batch (default: all of the namespace).")
    String name;

    @Option(names = {"-A", "--all-namespaces"}, description = "Batches of every namespace.")
    boolean allNamespaces;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "wide adds each batch's MESSAGE.")
    String output;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (output != null && !output.equals("wide")) {
            err.println("--output: \"" + output + "\" is not supported; use wide, or kubectl get tb -o " + output);
            return ExitCodes.INVALID;
        }
        if (allNamespaces && name != null) {
            err.println("a NAME cannot be given with --all-namespaces");
            return ExitCodes.INVALID;
        }
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            List<TaskBatch> batches;
            if (name != null) {
                batches = List.of(ClusterCalls.batch(c.client(), c.namespace(), name));
            } else {
                var resources = c.client().resources(TaskBatch.class);
                batches = ClusterCalls.call(c.client(), () -> allNamespaces ? resources.inAnyNamespace().list().getItems()
                        : resources.inNamespace(c.namespace()).list().getItems());
            }
            if (batches.isEmpty()) {
                err.println(allNamespaces ? "No TaskBatches found." : "No TaskBatches found in namespace " + c.namespace() + ".");
                return ExitCodes.SUCCEEDED;
            }
            batches = batches.stream().sorted(Comparator.comparing((TaskBatch b) -> b.getMetadata().getNamespace())
                    .thenComparing(b -> b.getMetadata().getName())).toList();
            out.print(BatchTable.render(batches, "wide".equals(output), allNamespaces, Instant.now()));
            out.flush();
            return ExitCodes.SUCCEEDED;
        } catch (ClusterCalls.Failed f) {
            return ClusterCalls.report(f, err);
        }
    }
}
