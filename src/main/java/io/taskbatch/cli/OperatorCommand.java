package io.taskbatch.cli;

import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.Quarkus;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;
import org.jboss.logging.Logger;
import picocli.CommandLine.Command;

/** {@code taskbatch operator}: reconciles TaskBatches until stopped. */
@Command(name = "operator", mixinStandardHelpOptions = true,
        description = {"Reconcile TaskBatches: start each batch's master and worker Jobs, size the workers to the",
                "cluster, and keep the status true. Settings come from taskbatch.operator.* properties or",
                "TASKBATCH_OPERATOR_* variables; the watched namespaces from",
                "QUARKUS_OPERATOR_SDK_CONTROLLERS_TASKBATCH_NAMESPACES (default: all)."})
public class OperatorCommand implements Callable<Integer> {
    private static final Logger LOG = Logger.getLogger(OperatorCommand.class);

    @Inject
    Operator operator;

    @Inject
    RoleReadiness readiness;

    @Override
    public Integer call() {
        readiness.serve("operator", () -> operator.getRuntimeInfo().isStarted()
                && operator.getRuntimeInfo().allEventSourcesAreHealthy(), "the operator's informers are not all running");
        operator.start();
        LOG.info("taskbatch operator started");
        Quarkus.waitForExit();
        return ExitCodes.SUCCEEDED;
    }
}
