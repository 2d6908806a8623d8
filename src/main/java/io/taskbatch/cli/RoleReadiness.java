package io.taskbatch.cli;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Default;
import java.util.function.BooleanSupplier;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * {@code /q/health/ready} for the role this process runs: the operator once it runs and its informers are healthy,
 * a master once it is connected and its queues are declared, a worker while it consumes its batch's tasks. A
 * process that has not taken a role yet is not ready (nothing probes the local roles such as {@code run}). The
 * Operator SDK's own check, which only the operator role could pass, is switched off in application.properties.
 */
@Readiness
@Default // also injected as itself by the roles, which tell it what they are
@ApplicationScoped
public class RoleReadiness implements HealthCheck {
    private record Role(String name, BooleanSupplier ready, String notReady) {
    }

    private volatile Role role = new Role("starting", () -> false, "the process has not taken its role yet");

    /** From now on this process is {@code name}, ready while {@code ready} says so; {@code notReady} says why not. */
    public void serve(String name, BooleanSupplier ready, String notReady) {
        role = new Role(name, ready, notReady);
    }

    @Override
    public HealthCheckResponse call() {
        Role now = role;
        boolean up = now.ready().getAsBoolean();
        var response = HealthCheckResponse.named("taskbatch " + now.name()).status(up).withData("role", now.name());
        if (!up) response.withData("waiting", now.notReady());
        return response.build();
    }
}
