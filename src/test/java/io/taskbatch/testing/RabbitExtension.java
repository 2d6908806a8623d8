package io.taskbatch.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One private {@link RabbitNode} per test class: started in {@code beforeAll}, closed in {@code afterAll},
 * and injected into any {@code RabbitNode} parameter of test methods, lifecycle methods ({@code @BeforeAll}
 * and {@code @AfterAll} included) and constructors.
 *
 * <pre>{@code
 * @ExtendWith(RabbitExtension.class)
 * class MyTest {
 *     @Test void works(RabbitNode rabbit) { ... rabbit.amqpUri() ... }
 * }
 *
 * class MyOtherTest {
 *     @RegisterExtension
 *     static final RabbitExtension rabbit = new RabbitExtension(RabbitNode.builder().consumerTimeout(Duration.ofSeconds(5)));
 *     @Test void works() { ... rabbit.node().amqpUri() ... }
 * }
 * }</pre>
 *
 * <p>{@code @Nested} classes share their enclosing class's node. A test that restarts, stops or kills the
 * node should leave it running (startAgain()) for the tests after it. If RabbitMQ is not installed the
 * class fails (it is not skipped) with the command that installs it.
 */
public final class RabbitExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RabbitExtension.class);
    private static final String KEY = "node";

    private final RabbitNode.Builder builder;
    private volatile RabbitNode node;

    /** Nodes with the default settings. */
    public RabbitExtension() {
        this(RabbitNode.builder());
    }

    /** Nodes from this builder (e.g. with a {@code consumer_timeout}). */
    public RabbitExtension(RabbitNode.Builder builder) {
        this.builder = builder;
    }

    /** The node of the running test class (for {@code @RegisterExtension} fields). */
    public RabbitNode node() {
        RabbitNode n = node;
        if (n == null) throw new IllegalStateException("no RabbitMQ node: the test class has not started (or has ended)");
        return n;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        ExtensionContext.Store store = context.getStore(NAMESPACE);
        RabbitNode inherited = store.get(KEY, RabbitNode.class); // an enclosing class's node (@Nested)
        if (inherited != null) {
            node = inherited;
            return;
        }
        RabbitNode started = builder.start();
        store.put(KEY, started);
        node = started;
    }

    @Override
    public void afterAll(ExtensionContext context) {
        // remove() only sees this context's own store: a @Nested class leaves its enclosing class's node alone
        RabbitNode own = context.getStore(NAMESPACE).remove(KEY, RabbitNode.class);
        if (own != null) {
            node = null;
            own.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == RabbitNode.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        RabbitNode n = extensionContext.getStore(NAMESPACE).get(KEY, RabbitNode.class);
        if (n == null) {
            throw new ParameterResolutionException("no RabbitMQ node for " + extensionContext.getDisplayName()
                    + ": RabbitExtension starts one per test class, in beforeAll");
        }
        return n;
    }
}
