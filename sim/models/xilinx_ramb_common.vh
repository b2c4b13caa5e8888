// The part of the RAMB36E1 and RAMB18E1 models (xilinx_ramb.v) that is the same for both,
// `include'd in the body of each: the parameters both primitives have, the parameter checks,
// the array's first 512 rows from INIT_00..3F / INITP_00..07, the inverted pins, a port's view
// of a row, the TDP ports, the SDP read port's output latches and the collision report.
//
// The module declares before the `include:
//   NAME              "RAMB36E1" or "RAMB18E1", the prefix of the messages
//   MAX_WIDTH         its widest TDP port, 36 or 18 bits; its SDP word is twice as wide
//   data, par         the array: rows of 32 data bits and their 4 parity bits (parity bit j
//                     belongs to data byte j)
//   addra, addrb      the ports' addresses; addr[4:0] is the bit address within a row
//   rowa, rowb        a TDP port's row
//   sdp_lo, sdp_hi    the SDP word at port A's address, low and high half ({parity, data})
//   sdp_same          the SDP read and write addresses name one word
// and after it the SDP write port (the word is one row of RAMB18E1, two of RAMB36E1) and the
// output assignments.

    parameter integer DOA_REG = 0;
    parameter integer DOB_REG = 0;
    parameter [255:0] INITP_00 = 256'h0;
    parameter [255:0] INITP_01 = 256'h0;
    parameter [255:0] INITP_02 = 256'h0;
    parameter [255:0] INITP_03 = 256'h0;
    parameter [255:0] INITP_04 = 256'h0;
    parameter [255:0] INITP_05 = 256'h0;
    parameter [255:0] INITP_06 = 256'h0;
    parameter [255:0] INITP_07 = 256'h0;
    parameter [255:0] INIT_00 = 256'h0;
    parameter [255:0] INIT_01 = 256'h0;
    parameter [255:0] INIT_02 = 256'h0;
    parameter [255:0] INIT_03 = 256'h0;
    parameter [255:0] INIT_04 = 256'h0;
    parameter [255:0] INIT_05 = 256'h0;
    parameter [255:0] INIT_06 = 256'h0;
    parameter [255:0] INIT_07 = 256'h0;
    parameter [255:0] INIT_08 = 256'h0;
    parameter [255:0] INIT_09 = 256'h0;
    parameter [255:0] INIT_0A = 256'h0;
    parameter [255:0] INIT_0B = 256'h0;
    parameter [255:0] INIT_0C = 256'h0;
    parameter [255:0] INIT_0D = 256'h0;
    parameter [255:0] INIT_0E = 256'h0;
    parameter [255:0] INIT_0F = 256'h0;
    parameter [255:0] INIT_10 = 256'h0;
    parameter [255:0] INIT_11 = 256'h0;
    parameter [255:0] INIT_12 = 256'h0;
    parameter [255:0] INIT_13 = 256'h0;
    parameter [255:0] INIT_14 = 256'h0;
    parameter [255:0] INIT_15 = 256'h0;
    parameter [255:0] INIT_16 = 256'h0;
    parameter [255:0] INIT_17 = 256'h0;
    parameter [255:0] INIT_18 = 256'h0;
    parameter [255:0] INIT_19 = 256'h0;
    parameter [255:0] INIT_1A = 256'h0;
    parameter [255:0] INIT_1B = 256'h0;
    parameter [255:0] INIT_1C = 256'h0;
    parameter [255:0] INIT_1D = 256'h0;
    parameter [255:0] INIT_1E = 256'h0;
    parameter [255:0] INIT_1F = 256'h0;
    parameter [255:0] INIT_20 = 256'h0;
    parameter [255:0] INIT_21 = 256'h0;
    parameter [255:0] INIT_22 = 256'h0;
    parameter [255:0] INIT_23 = 256'h0;
    parameter [255:0] INIT_24 = 256'h0;
    parameter [255:0] INIT_25 = 256'h0;
    parameter [255:0] INIT_26 = 256'h0;
    parameter [255:0] INIT_27 = 256'h0;
    parameter [255:0] INIT_28 = 256'h0;
    parameter [255:0] INIT_29 = 256'h0;
    parameter [255:0] INIT_2A = 256'h0;
    parameter [255:0] INIT_2B = 256'h0;
    parameter [255:0] INIT_2C = 256'h0;
    parameter [255:0] INIT_2D = 256'h0;
    parameter [255:0] INIT_2E = 256'h0;
    parameter [255:0] INIT_2F = 256'h0;
    parameter [255:0] INIT_30 = 256'h0;
    parameter [255:0] INIT_31 = 256'h0;
    parameter [255:0] INIT_32 = 256'h0;
    parameter [255:0] INIT_33 = 256'h0;
    parameter [255:0] INIT_34 = 256'h0;
    parameter [255:0] INIT_35 = 256'h0;
    parameter [255:0] INIT_36 = 256'h0;
    parameter [255:0] INIT_37 = 256'h0;
    parameter [255:0] INIT_38 = 256'h0;
    parameter [255:0] INIT_39 = 256'h0;
    parameter [255:0] INIT_3A = 256'h0;
    parameter [255:0] INIT_3B = 256'h0;
    parameter [255:0] INIT_3C = 256'h0;
    parameter [255:0] INIT_3D = 256'h0;
    parameter [255:0] INIT_3E = 256'h0;
    parameter [255:0] INIT_3F = 256'h0;
    // Yosys writes INIT_A/B and SRVAL_A/B 72 bits wide (some bits x); the low MAX_WIDTH count.
    parameter INIT_A = {MAX_WIDTH{1'b0}};
    parameter INIT_B = {MAX_WIDTH{1'b0}};
    parameter INIT_FILE = "NONE";
    parameter RAM_MODE = "TDP";
    parameter RDADDR_COLLISION_HWCONFIG = "DELAYED_WRITE";
    parameter integer READ_WIDTH_A = 0;
    parameter integer READ_WIDTH_B = 0;
    parameter RSTREG_PRIORITY_A = "RSTREG";
    parameter RSTREG_PRIORITY_B = "RSTREG";
    parameter SIM_COLLISION_CHECK = "ALL";
    parameter SIM_DEVICE = "VIRTEX6";
    parameter SRVAL_A = {MAX_WIDTH{1'b0}};
    parameter SRVAL_B = {MAX_WIDTH{1'b0}};
    parameter WRITE_MODE_A = "WRITE_FIRST";
    parameter WRITE_MODE_B = "WRITE_FIRST";
    parameter integer WRITE_WIDTH_A = 0;
    parameter integer WRITE_WIDTH_B = 0;
    parameter IS_CLKARDCLK_INVERTED = 1'b0;
    parameter IS_CLKBWRCLK_INVERTED = 1'b0;
    parameter IS_ENARDEN_INVERTED = 1'b0;
    parameter IS_ENBWREN_INVERTED = 1'b0;
    parameter IS_RSTRAMARSTRAM_INVERTED = 1'b0;
    parameter IS_RSTRAMB_INVERTED = 1'b0;
    parameter IS_RSTREGARSTREG_INVERTED = 1'b0;
    parameter IS_RSTREGB_INVERTED = 1'b0;

    localparam SDP = RAM_MODE == "SDP";
    localparam [MAX_WIDTH-1:0] INIT_A_ = INIT_A;
    localparam [MAX_WIDTH-1:0] INIT_B_ = INIT_B;
    localparam [MAX_WIDTH-1:0] SRVAL_A_ = SRVAL_A;
    localparam [MAX_WIDTH-1:0] SRVAL_B_ = SRVAL_B;

    function legal_tdp_width(input integer w);
        legal_tdp_width = w == 0 || w == 1 || w == 2 || w == 4 || w == 9 || w == 18
                          || w == MAX_WIDTH;
    endfunction

    function legal_write_mode(input [8*11-1:0] m);
        legal_write_mode = m == "WRITE_FIRST" || m == "READ_FIRST" || m == "NO_CHANGE";
    endfunction

    // Rows 0..511: data bit i of the array is bit i of {INIT_3F, .., INIT_00}, parity bit i
    // bit i of {INITP_07, .., INITP_00} (brams_defs.vh's slice_init / slice_initp layout).
    localparam [512*32-1:0] INIT_LO = {
        INIT_3F, INIT_3E, INIT_3D, INIT_3C, INIT_3B, INIT_3A, INIT_39, INIT_38,
        INIT_37, INIT_36, INIT_35, INIT_34, INIT_33, INIT_32, INIT_31, INIT_30,
        INIT_2F, INIT_2E, INIT_2D, INIT_2C, INIT_2B, INIT_2A, INIT_29, INIT_28,
        INIT_27, INIT_26, INIT_25, INIT_24, INIT_23, INIT_22, INIT_21, INIT_20,
        INIT_1F, INIT_1E, INIT_1D, INIT_1C, INIT_1B, INIT_1A, INIT_19, INIT_18,
        INIT_17, INIT_16, INIT_15, INIT_14, INIT_13, INIT_12, INIT_11, INIT_10,
        INIT_0F, INIT_0E, INIT_0D, INIT_0C, INIT_0B, INIT_0A, INIT_09, INIT_08,
        INIT_07, INIT_06, INIT_05, INIT_04, INIT_03, INIT_02, INIT_01, INIT_00};
    localparam [512*4-1:0] INITP_LO = {
        INITP_07, INITP_06, INITP_05, INITP_04, INITP_03, INITP_02, INITP_01, INITP_00};

    integer i;
    initial begin
        if (DOA_REG != 0 || DOB_REG != 0)
            $fatal(1, "%s model %m: only DOA_REG = DOB_REG = 0 is modelled", NAME);
        if (RAM_MODE != "TDP" && RAM_MODE != "SDP")
            $fatal(1, "%s model %m: RAM_MODE must be TDP or SDP", NAME);
        if (SDP && !(READ_WIDTH_A == 2 * MAX_WIDTH && READ_WIDTH_B == 0 && WRITE_WIDTH_A == 0
                     && WRITE_WIDTH_B == 2 * MAX_WIDTH))
            $fatal(1, "%s model %m: SDP widths R%0d/W%0d not modelled (%0d/%0d only)", NAME,
                   READ_WIDTH_A, WRITE_WIDTH_B, 2 * MAX_WIDTH, 2 * MAX_WIDTH);
        if (!SDP && !(legal_tdp_width(READ_WIDTH_A) && legal_tdp_width(READ_WIDTH_B)
                      && legal_tdp_width(WRITE_WIDTH_A) && legal_tdp_width(WRITE_WIDTH_B)))
            $fatal(1, "%s model %m: TDP widths %0d/%0d/%0d/%0d not modelled", NAME,
                   READ_WIDTH_A, WRITE_WIDTH_A, READ_WIDTH_B, WRITE_WIDTH_B);
        if (!legal_write_mode(WRITE_MODE_A) || !legal_write_mode(WRITE_MODE_B))
            $fatal(1, "%s model %m: unknown WRITE_MODE", NAME);
        if (INIT_FILE != "NONE")
            $fatal(1, "%s model %m: INIT_FILE is not modelled", NAME);
        for (i = 0; i < 512; i = i + 1)
            {par[i], data[i]} = {INITP_LO[4*i +: 4], INIT_LO[32*i +: 32]};
    end

    wire clka = CLKARDCLK ^ IS_CLKARDCLK_INVERTED;
    wire clkb = CLKBWRCLK ^ IS_CLKBWRCLK_INVERTED;
    wire ena = ENARDEN ^ IS_ENARDEN_INVERTED;
    wire enb = ENBWREN ^ IS_ENBWREN_INVERTED;
    wire rsta = RSTRAMARSTRAM ^ IS_RSTRAMARSTRAM_INVERTED;
    wire rstb = RSTRAMB ^ IS_RSTRAMB_INVERTED;

    // A port's view of a row: {parity, data} of the width-w word at row offset a (a[4:0]
    // is the bit address within the row; the address bits below the width are ignored).
    function [35:0] view(input [31:0] d, input [3:0] p, input [4:0] a, input integer w);
        case (w)
            36: view = {p, d};
            18: view = {2'b0, p[2*a[4] +: 2], 16'b0, d[16*a[4] +: 16]};
            9: view = {3'b0, p[a[4:3]], 24'b0, d[8*a[4:3] +: 8]};
            4: view = {32'b0, d[4*a[4:2] +: 4]};
            2: view = {34'b0, d[2*a[4:1] +: 2]};
            1: view = {35'b0, d[a[4:0]]};
            default: view = 36'b0;
        endcase
    endfunction

    // INIT_x / SRVAL_x as the output latch of a width-w port: {parity, data}, the layout
    // the primitive packs them in (data in the low bits, the parity bits above).
    function [35:0] unpack(input [35:0] v, input integer w);
        case (w)
            36: unpack = v;
            18: unpack = {2'b0, v[17:16], 16'b0, v[15:0]};
            9: unpack = {3'b0, v[8], 24'b0, v[7:0]};
            4: unpack = {32'b0, v[3:0]};
            2: unpack = {34'b0, v[1:0]};
            1: unpack = {35'b0, v[0]};
            default: unpack = 36'b0;
        endcase
    endfunction

    // A row {parity, data} after a write of width w at row offset a with byte enables we.
    function [35:0] merge(input [35:0] row, input [4:0] a, input integer w,
                          input [31:0] di, input [3:0] dip, input [3:0] we);
        integer j, lane;
        reg [31:0] d;
        reg [3:0] p;
        begin
            {p, d} = row;
            case (w)
                36, 18, 9:
                    for (j = 0; j < w / 9; j = j + 1)
                        if (we[j]) begin
                            lane = j + (w == 18 ? 2 * a[4] : w == 9 ? a[4:3] : 0);
                            d[8*lane +: 8] = di[8*j +: 8];
                            p[lane] = dip[j];
                        end
                4: if (we[0]) d[4*a[4:2] +: 4] = di[3:0];
                2: if (we[0]) d[2*a[4:1] +: 2] = di[1:0];
                1: if (we[0]) d[a[4:0]] = di[0];
                default: ;
            endcase
            merge = {p, d};
        end
    endfunction

    // A TDP port's output latch o after an edge that reads the row, {parity, data} `row`
    // before and `written` after the port's write (wr): READ_FIRST shows the row before,
    // WRITE_FIRST the row written, NO_CHANGE keeps the latch while the port writes.
    function [35:0] latch(input [35:0] o, input [35:0] row, input [35:0] written, input wr,
                          input [8*11-1:0] mode, input [4:0] a, input integer w);
        if (!wr || mode == "READ_FIRST")
            latch = view(row[31:0], row[35:32], a, w);
        else if (mode == "WRITE_FIRST")
            latch = view(written[31:0], written[35:32], a, w);
        else
            latch = o;
    endfunction

    wire [35:0] rda_row = {par[rowa], data[rowa]};
    wire [35:0] rdb_row = {par[rowb], data[rowb]};

    // RAMB18E1's narrower DI*/DIP*/WE* ports widen with zeros into merge's 32/4/4 bits.
    wire wra = !SDP && ena && |WEA && WRITE_WIDTH_A != 0;
    wire wrb = enb && (SDP ? |WEBWE : |WEBWE[3:0]) && (SDP || WRITE_WIDTH_B != 0);
    wire [35:0] newa = merge(rda_row, addra[4:0], WRITE_WIDTH_A, DIADI, DIPADIP, WEA);
    wire [35:0] newb = merge(rdb_row, addrb[4:0], WRITE_WIDTH_B, DIBDI, DIPBDIP, WEBWE[3:0]);

    // Output latches {parity, data} (DOA_REG/DOB_REG 0), as initialised by INIT_A/INIT_B.
    reg [35:0] oa, ob;
    initial begin
        oa = unpack(INIT_A_, SDP ? MAX_WIDTH : READ_WIDTH_A);
        ob = unpack(INIT_B_, SDP ? MAX_WIDTH : READ_WIDTH_B);
    end
    reg collided = 1'b0;

    // Port A: TDP read/write, or the SDP read port.
    always @(posedge clka) begin
        if (ena) begin
            if (wra)
                {par[rowa], data[rowa]} <= newa;
            if (rsta) begin
                oa <= unpack(SRVAL_A_, SDP ? MAX_WIDTH : READ_WIDTH_A);
                if (SDP)
                    ob <= unpack(SRVAL_B_, MAX_WIDTH);
            end else if (SDP) begin
                oa <= sdp_lo;
                ob <= sdp_hi;
            end else if (READ_WIDTH_A != 0)
                oa <= latch(oa, rda_row, newa, wra, WRITE_MODE_A, addra[4:0], READ_WIDTH_A);
        end
    end

    // Port B in TDP mode (the SDP write port follows the `include).
    always @(posedge clkb) begin
        if (enb && !SDP) begin
            if (wrb) begin
                if (wra && rowa == rowb && clka == clkb)
                    $fatal(1, "%s model %m: both ports write row %0d at one edge", NAME, rowb);
                {par[rowb], data[rowb]} <= newb;
            end
            if (rstb)
                ob <= unpack(SRVAL_B_, READ_WIDTH_B);
            else if (READ_WIDTH_B != 0)
                ob <= latch(ob, rdb_row, newb, wrb, WRITE_MODE_B, addrb[4:0], READ_WIDTH_B);
        end
    end

    // Cross-port collision report (same clock on both ports: both edges at this time step).
    wire reada = ena && !rsta && (SDP || READ_WIDTH_A != 0);
    wire readb = !SDP && enb && !rstb && READ_WIDTH_B != 0;
    always @(posedge clkb) begin
        if (!collided && clka == clkb
            && (SDP ? (reada && wrb && sdp_same)
                    : rowa == rowb && ((wra && readb) || (wrb && reada)))) begin
            collided <= 1'b1;
            $display("%s model %m: a port reads a row the other port writes at the same edge (time %0t): the read returns the old word",
                     NAME, $time);
        end
    end
