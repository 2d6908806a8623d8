package io.taskbatch.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmHeapPressureMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.quarkus.micrometer.runtime.binder.JVMInfoBinder;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.ArrayList;
import java.util.List;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * The JVM's and the system's meters on {@code /q/metrics} ({@code jvm_*}, {@code process_*}, {@code system_*}): the
 * binders Quarkus' Micrometer extension binds with {@code quarkus.micrometer.binder.jvm} and {@code .system} (off in
 * application.properties), bound here instead: on a thread of their own, so that a role's start does not wait for
 * them, and only where an HTTP server can serve them (pods set {@code TASKBATCH_HTTP_PORT}). They cost a worker about
 * 0.08 s of CPU at its start (issue 13), which a role started by hand or by {@code run}, with no server, paid for
 * meters nobody could read.
 */
@ApplicationScoped
public class JvmMeters {
    private static final Logger LOG = Logger.getLogger(JvmMeters.class);

    @ConfigProperty(name = "quarkus.http.host-enabled", defaultValue = "true")
    boolean served;

    // the binders that hold listeners, closed at shutdown as the extension does; and whether it came
    private final List<AutoCloseable> open = new ArrayList<>();
    private boolean closed;

    void onStart(@Observes StartupEvent event) {
        if (!served) return;
        Thread.ofPlatform().daemon().name("taskbatch-jvm-meters").start(() -> bind(Metrics.globalRegistry));
    }

    /** What the extension's recorder binds, in its order, to the registry it binds them to. */
    synchronized void bind(MeterRegistry registry) {
        if (closed) return;
        try {
            new ClassLoaderMetrics().bindTo(registry);
            JvmHeapPressureMetrics heapPressure = new JvmHeapPressureMetrics();
            heapPressure.bindTo(registry);
            open.add(heapPressure);
            new JvmMemoryMetrics().bindTo(registry);
            new JvmThreadMetrics().bindTo(registry);
            new JVMInfoBinder().bindTo(registry);
            JvmGcMetrics gc = new JvmGcMetrics();
            gc.bindTo(registry);
            open.add(gc);
            new UptimeMetrics().bindTo(registry);
            new ProcessorMetrics().bindTo(registry);
            new FileDescriptorMetrics().bindTo(registry);
        } catch (RuntimeException e) {
            LOG.warnf("the JVM's meters are incomplete: %s", e.toString());
        }
    }

    synchronized void onStop(@Observes ShutdownEvent event) {
        closed = true;
        for (AutoCloseable binder : open) {
            try {
                binder.close();
            } catch (Exception e) {
                LOG.debugf("closing %s: %s", binder, e);
            }
        }
        open.clear();
    }
}
