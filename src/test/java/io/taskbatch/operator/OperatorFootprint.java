package io.taskbatch.operator;

import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.health.EventSourceHealthIndicator;
import io.javaoperatorsdk.operator.health.InformerWrappingEventSourceHealthIndicator;
import io.taskbatch.testing.ApiServer;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What the operator holds that could grow with the number of batches: live threads (by pool), the informers of its
 * controller, and (against our {@link ApiServer}) the distinct watches it opened. Shared by the scale test, which
 * asserts none of it grows, and the bench, which prints it with the heap.
 */
record OperatorFootprint(int threads, Map<String, Integer> threadsByPool, int informers, Set<String> watches) {

    /** Query parameters that differ between two requests of the same watch (a re-watch after a timeout). */
    private static final Set<String> VOLATILE_PARAMS = Set.of("resourceVersion", "timeoutSeconds", "allowWatchBookmarks",
            "resourceVersionMatch", "sendInitialEvents");

    static OperatorFootprint of(Operator operator, ApiServer apiServer, String operatorUser) {
        Map<String, Integer> byPool = new TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) byPool.merge(pool(t.getName()), 1, Integer::sum);
        Set<String> watches = apiServer == null ? Set.of() : apiServer.audit(e -> "watch".equals(e.verb())
                && operatorUser.equals(e.username())).stream().map(e -> watchKey(e.uri())).collect(Collectors.toCollection(TreeSet::new));
        return new OperatorFootprint(ManagementFactory.getThreadMXBean().getThreadCount(), byPool, informers(operator), watches);
    }

    /** Informers of every registered controller: one per watched namespace of each informer event source. */
    static int informers(Operator operator) {
        int n = 0;
        for (var controller : operator.getRegisteredControllers()) {
            for (EventSourceHealthIndicator source : controller.getControllerHealthInfo().eventSourceHealthIndicators().values()) {
                n += source instanceof InformerWrappingEventSourceHealthIndicator<?> informer ? informer.informerHealthIndicators().size() : 0;
            }
        }
        return n;
    }

    /** A thread's pool: its name without the numbers that tell the pool's threads apart. */
    static String pool(String name) {
        return name.replaceAll("[0-9]+", "#");
    }

    /** What a watch is of: its path and selectors, without what changes when it is re-opened. */
    static String watchKey(String uri) {
        URI parsed = URI.create(uri);
        String query = parsed.getRawQuery() == null ? "" : Arrays.stream(parsed.getRawQuery().split("&"))
                .filter(p -> !VOLATILE_PARAMS.contains(p.split("=", 2)[0])).sorted().collect(Collectors.joining("&"));
        return parsed.getRawPath() + (query.isEmpty() ? "" : "?" + query);
    }

    /** The pools that have more threads in {@code later} than here, with how many more. */
    Map<String, Integer> grownIn(OperatorFootprint later) {
        Map<String, Integer> grown = new TreeMap<>();
        later.threadsByPool.forEach((pool, n) -> {
            int more = n - threadsByPool.getOrDefault(pool, 0);
            if (more > 0) grown.put(pool, more);
        });
        return grown;
    }

    /** Heap in use after a full collection, in bytes (two, so that what the first freed is finalized and gone). */
    static long heapAfterGc() {
        var memory = ManagementFactory.getMemoryMXBean();
        memory.gc();
        memory.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }
}
