// Virtual PCIe board: the PCIe device's Verilog (ec_hw.gateware.axis.AxisPins), compiled by
// Verilator, with its XDMA AXI-Stream ports bridged to two named pipes, so the host's
// XdmaTransport (written for /dev/xdma0_h2c_0 and /dev/xdma0_c2h_0) talks to it unchanged.
//
// Plays the XDMA IP: bytes the host writes to the H2C pipe become s_axis_h2c beats (64-bit
// tdata, tkeep on the last beat, tlast when the pipe has nothing more); m_axis_c2h beats are
// collected up to tlast and written to the C2H pipe as one transfer. Clocks: axi_aclk and
// core_clk at the board's frequencies, given as half periods in ps (NiteFury: 250 MHz and
// 60 MHz, 2000 ps and 8333 ps), one event loop over both edges.
//
// Prints "ready" on stdout once both pipes are open, then runs until stdin closes (the parent
// exited) or SIGTERM/SIGINT. Pacing as the UART virtual board: an idle device does not
// advance; one wall-clock silence with input pending is GAP_CYCLES core cycles.
// With a STATS path, each request/reply is logged as "<core cycles from the first H2C beat to
// the C2H tlast> <request bytes> <reply bytes>" (the link budget benchmark reads it).
//
// Usage: pcie_boardsim H2C_FIFO C2H_FIFO GAP_CYCLES AXI_HALF_PS CORE_HALF_PS [STATS]

#include <verilated.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <string>

#include "Vec_hw_pcie_top.h"

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int) { g_stop = 1; }

struct Bridge {
    Vec_hw_pcie_top* top;
    uint64_t t_ps = 0;             // simulated time
    uint64_t axi_half = 2000;      // half periods of axi_aclk and core_clk (ps)
    uint64_t core_half = 8333;
    uint64_t core_cycles = 0;
    std::deque<uint8_t> inq;       // H2C bytes not yet in a beat
    bool beat_valid = false;
    std::string reply;             // C2H bytes of the transfer being collected
    std::string out;               // complete C2H transfers to write to the pipe
    // link statistics
    FILE* stats = nullptr;
    bool in_txn = false;
    uint64_t txn_start = 0;
    size_t txn_req = 0;

    void load_beat() {
        // The next beat from the queue: up to 8 bytes, tlast when the queue empties.
        uint64_t data = 0;
        int n = 0;
        while (n < 8 && !inq.empty()) {
            data |= (uint64_t)inq.front() << (8 * n);
            inq.pop_front();
            n++;
        }
        top->s_axis_h2c_tdata = data;
        top->s_axis_h2c_tkeep = (uint8_t)((1u << n) - 1);
        top->s_axis_h2c_tlast = inq.empty();
        top->s_axis_h2c_tvalid = 1;
        beat_valid = true;
        if (!in_txn) {
            in_txn = true;
            txn_start = core_cycles;
            txn_req = 0;
        }
        txn_req += (size_t)n;
    }

    // One edge of either clock (or both, where their edges coincide).
    void step() {
        uint64_t next_axi = (t_ps / axi_half + 1) * axi_half;
        uint64_t next_core = (t_ps / core_half + 1) * core_half;
        t_ps = next_axi < next_core ? next_axi : next_core;
        bool axi_edge = t_ps % axi_half == 0, core_edge = t_ps % core_half == 0;
        bool axi_rise = axi_edge && !top->axi_aclk;
        // handshakes complete at the rising edge: sample them before it
        bool h2c_fire = axi_rise && beat_valid && top->s_axis_h2c_tready;
        bool c2h_fire = axi_rise && top->m_axis_c2h_tvalid && top->m_axis_c2h_tready;
        uint64_t c2h_data = top->m_axis_c2h_tdata;
        uint8_t c2h_keep = top->m_axis_c2h_tkeep;
        bool c2h_last = top->m_axis_c2h_tlast;
        if (axi_edge) top->axi_aclk = !top->axi_aclk;
        if (core_edge) {
            top->core_clk = !top->core_clk;
            if (top->core_clk) core_cycles++;
        }
        top->eval();
        if (!axi_rise) return;
        if (h2c_fire) {
            beat_valid = false;
            top->s_axis_h2c_tvalid = 0;
        }
        if (!beat_valid && !inq.empty()) load_beat();
        if (c2h_fire) {
            for (int b = 0; b < 8; b++)
                if (c2h_keep >> b & 1) reply.push_back((char)(c2h_data >> (8 * b)));
            if (c2h_last) {
                if (stats && in_txn) {
                    fprintf(stats, "%llu %zu %zu\n",
                            (unsigned long long)(core_cycles - txn_start), txn_req,
                            reply.size());
                    fflush(stats);
                }
                in_txn = false;
                out += reply;
                reply.clear();
            }
        }
        top->m_axis_c2h_tready = out.size() < (1u << 20);  // backpressure if the host lags
        top->eval();
    }

    void core_ticks(long n) {
        uint64_t until = core_cycles + (uint64_t)n;
        while (core_cycles < until) step();
    }

    bool quiet() const {
        return inq.empty() && !beat_valid && reply.empty() && top->idle &&
               !top->m_axis_c2h_tvalid;
    }
};

static void flush_out(int fd, std::string& out) {
    while (!out.empty()) {
        ssize_t n = write(fd, out.data(), out.size());
        if (n > 0) {
            out.erase(0, (size_t)n);
        } else {
            return;  // pipe full (EAGAIN): the rest goes on the next round
        }
    }
}

static void read_in(int fd, std::deque<uint8_t>& q) {
    uint8_t buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return;
        q.insert(q.end(), buf, buf + n);
    }
}

int main(int argc, char** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s H2C_FIFO C2H_FIFO GAP_CYCLES AXI_HALF_PS CORE_HALF_PS [STATS]\n",
                argv[0]);
        return 2;
    }
    long gap_cycles = atol(argv[3]);
    long axi_half = atol(argv[4]), core_half = atol(argv[5]);
    if (axi_half <= 0 || core_half <= 0) {
        fprintf(stderr, "clock half periods must be positive (ps)\n");
        return 2;
    }
    Verilated::commandArgs(1, argv);
    // O_RDWR on a FIFO never blocks and never sees EOF: the host may open and close its ends
    // at any time (XdmaTransport opens C2H first, non-blocking, then H2C).
    int hfd = open(argv[1], O_RDWR | O_NONBLOCK);
    int cfd = open(argv[2], O_RDWR | O_NONBLOCK);
    if (hfd < 0 || cfd < 0) {
        perror("open fifo");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);

    Vec_hw_pcie_top* top = new Vec_hw_pcie_top;
    Bridge br{top};
    br.axi_half = (uint64_t)axi_half;
    br.core_half = (uint64_t)core_half;
    if (argc > 6) br.stats = fopen(argv[6], "w");
    top->core_rst = 1;
    top->axi_aresetn = 0;
    top->s_axis_h2c_tvalid = 0;
    top->m_axis_c2h_tready = 1;
    br.core_ticks(8);
    top->core_rst = 0;
    top->axi_aresetn = 1;
    br.core_ticks(8);

    printf("ready\n");
    fflush(stdout);

    bool gap_done = true;
    while (!g_stop) {
        if (br.quiet() && br.out.empty()) {
            struct pollfd fds[2] = {{hfd, POLLIN, 0}, {0, POLLIN, 0}};
            int r = poll(fds, 2, gap_done ? 200 : 2);
            if (r < 0 && errno != EINTR) break;
            if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                char c;
                if (read(0, &c, 1) <= 0) break;  // parent went away
            }
            if (fds[0].revents & POLLIN) {
                read_in(hfd, br.inq);
                gap_done = false;
            } else if (!gap_done) {
                for (long i = 0; i < gap_cycles && br.inq.empty(); i++) br.core_ticks(1);
                gap_done = true;
            }
            continue;
        }
        br.core_ticks(256);
        read_in(hfd, br.inq);
        if (!br.inq.empty()) gap_done = false;
        if (!br.out.empty()) flush_out(cfd, br.out);
    }
    top->final();
    delete top;
    if (br.stats) fclose(br.stats);
    close(hfd);
    close(cfd);
    return 0;
}
