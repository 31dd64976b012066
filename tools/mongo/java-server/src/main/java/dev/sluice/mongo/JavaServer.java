package dev.sluice.mongo;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs mongo-java-server (in-memory backend) with its oplog on, so clients
 * can open change streams, for Sluice's change-stream tests.
 *
 * <p>Usage: {@code JavaServer PORT [VERSION WIRE]}. It listens on
 * 127.0.0.1:PORT, prints "mongo-java-server: listening on ..." once ready,
 * and stops on SIGTERM.
 *
 * <p>VERSION and WIRE are what the server reports in buildInfo and hello
 * (default 4.4.0 and wire version 9). mongo-java-server's own newest
 * setting (MONGO_5_0) reports wire version 8, which the Go driver v2.10
 * refuses (it needs 9, MongoDB 4.4). The reported version changes nothing
 * else in the server: it is only echoed to clients.
 */
public final class JavaServer {
    /** A reported server version; mongo-java-server uses it only in replies. */
    private record Reported(List<Integer> versionArray, int wireVersion) implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return versionArray;
        }

        @Override
        public int getWireVersion() {
            return wireVersion;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1 && args.length != 3) {
            System.err.println("usage: JavaServer PORT [VERSION WIRE]   e.g. JavaServer 27017 4.4.0 9");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        String version = args.length == 3 ? args[1] : "4.4.0";
        int wire = args.length == 3 ? Integer.parseInt(args[2]) : 9;
        List<Integer> parts = new ArrayList<>();
        for (String p : version.split("\\.")) {
            parts.add(Integer.parseInt(p));
        }
        MemoryBackend backend = new MemoryBackend();
        backend.version(new Reported(List.copyOf(parts), wire));
        MongoServer server = new MongoServer(backend);
        server.enableOplog();
        server.bind("127.0.0.1", port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        System.err.println("mongo-java-server: listening on 127.0.0.1:" + port + ", reporting MongoDB " + version + " (wire " + wire + ")");
        System.err.flush();
        Thread.currentThread().join();
    }
}
