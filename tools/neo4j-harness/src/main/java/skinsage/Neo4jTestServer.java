package skinsage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilder;
import org.neo4j.harness.Neo4jBuilders;
import org.neo4j.io.ByteUnit;

/**
 * Real Neo4j Community 5.26 server, in-process via neo4j-harness, for SkinSage's
 * test suite and CI (no Docker, no tarball download: everything comes from Maven Central).
 *
 * <p>Usage: {@code java ... skinsage.Neo4jTestServer [--port N] [--host H] [--data DIR] [--plugins DIR]}
 * (each option can also come from env NEO4J_TEST_PORT / NEO4J_TEST_HOST / NEO4J_TEST_DATA /
 * NEO4J_TEST_PLUGINS). Defaults: 127.0.0.1:7687, data under ./.cache/neo4j-test/data.
 *
 * <p>Bolt only (HTTP server disabled), auth disabled, page cache 256m, APOC allowed (apoc.*)
 * when the plugins dir holds the APOC jar. Prints {@code NEO4J_READY bolt://HOST:PORT} on
 * stdout once Bolt accepts connections, then blocks until the JVM is told to stop
 * (SIGTERM/SIGINT run a shutdown hook that closes the database cleanly).
 *
 * <p>Each start gets a fresh, empty database: the harness creates a random sub-directory of the
 * data dir and deletes it on close.
 */
public final class Neo4jTestServer {

    private Neo4jTestServer() {}

    public static void main(String[] args) throws Exception {
        String host = env("NEO4J_TEST_HOST", "127.0.0.1");
        int port = Integer.parseInt(env("NEO4J_TEST_PORT", "7687"));
        Path data = Path.of(env("NEO4J_TEST_DATA", ".cache/neo4j-test/data"));
        String plugins = env("NEO4J_TEST_PLUGINS", "");

        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value for " + a);
            }
            switch (a) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--host" -> host = args[++i];
                case "--data" -> data = Path.of(args[++i]);
                case "--plugins" -> plugins = args[++i];
                default -> usage("unknown option " + a);
            }
        }

        data = data.toAbsolutePath().normalize();
        Files.createDirectories(data);

        long t0 = System.nanoTime();
        Neo4jBuilder builder = Neo4jBuilders.newInProcessBuilder(data)
                // Bolt only: no Jetty/HTTP listener to collide with anything.
                .withDisabledServer()
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .withConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .withConfig(GraphDatabaseSettings.auth_enabled, false)
                // Modest memory: tests create tiny graphs.
                .withConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(256))
                .withConfig(GraphDatabaseSettings.memory_transaction_global_max_size, ByteUnit.mebiBytes(512))
                // Throwaway store: don't pre-allocate 250 MiB transaction log files.
                .withConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .withConfig(GraphDatabaseSettings.check_point_interval_time, Duration.ofMinutes(60))
                .withConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("apoc.*"))
                .withConfig(GraphDatabaseSettings.procedure_allowlist, List.of("*"));

        if (!plugins.isEmpty()) {
            Path pluginDir = Path.of(plugins).toAbsolutePath().normalize();
            if (Files.isDirectory(pluginDir)) {
                // Procedures/functions are discovered from jars in this dir (as in a server
                // install). The same jars are also on the JVM classpath, like a server's
                // plugins/*, so APOC's extension factories load too.
                builder = builder.withConfig(GraphDatabaseSettings.plugin_dir, pluginDir);
            } else {
                System.err.println("neo4j-test-server: plugins dir " + pluginDir + " missing, APOC disabled");
            }
        }

        final Neo4j neo4j = builder.build();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("NEO4J_STOPPING");
            System.out.flush();
            try {
                neo4j.close();
            } catch (RuntimeException e) {
                e.printStackTrace();
            } finally {
                System.out.println("NEO4J_STOPPED");
                System.out.flush();
                stopped.countDown();
            }
        }, "neo4j-test-server-shutdown"));

        // Sanity check through the embedded API before announcing readiness.
        neo4j.defaultDatabaseService().executeTransactionally("RETURN 1");

        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("NEO4J_STARTED_MS " + ms);
        System.out.println("NEO4J_READY bolt://" + host + ":" + port);
        System.out.flush();

        // Block until the shutdown hook has run (the JVM exits after hooks complete).
        stopped.await();
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    private static void usage(String msg) {
        System.err.println("neo4j-test-server: " + msg);
        System.err.println("usage: skinsage.Neo4jTestServer [--port N] [--host H] [--data DIR] [--plugins DIR]");
        System.exit(2);
    }
}
