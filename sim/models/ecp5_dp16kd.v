// Simulation model of the Lattice ECP5 DP16KD block RAM in the configurations Yosys emits.
//
// Yosys ships DP16KD in share/lattice/cells_sim_ecp5.v as an empty `(* blackbox *)` module,
// an attribute the simulator ignores: it compiles the empty module and every DOA/DOB
// output reads 0, so a gate-level netlist with block RAM silently reads zeros (this was the
// cause of the N = 64 ECP5 gate-level mismatch, docs/gate-level.md). This model replaces it;
// sim/gate_level.py compiles it instead of cells_sim_ecp5.v's blackbox.
//
// Modelled, as share/lattice/brams_map_16kd.v instantiates the primitive (Yosys 0.70):
//  * true dual port ($__DP16KD_): each port 9 or 18 bits wide. x18: word address AD[13:4],
//    AD[1:0] byte enables (byte 0 = data bits 8:0, byte 1 = 17:9); x9: address AD[13:3],
//    AD[3] selecting the byte within the 18-bit word.
//  * pseudo dual port 36 bits ($__PDPW16KD_): port A writes DIA (bits 17:0) and DIB (35:18)
//    at AD[13:5] with byte enables ADA[3:0] (9-bit bytes from bit 0 up); port B reads the same
//    word layout onto DOA (17:0) and DOB (35:18) from ADB[13:5].
//  * REGMODE "NOREG": the read data appears at the clock edge after the address (one output
//    latch). REGMODE "OUTREG": an output register after the latch (data two edges after the
//    address), loaded at the port's clock edges with its OCE, cleared by the reset; in the 9-
//    and 18-bit modes per port, in the 36-bit mode on both ports only: the model loads the low
//    half (DOA) at CLKA edges with OCEA and the high half (DOB) at CLKB edges with OCEB (the
//    data sheet does not say which port's controls the DOA half uses in this mode; designs
//    that tie CLKA/CLKB and OCEA/OCEB together, as the gateware does, see the same either way). WRITEMODE per port: NORMAL keeps the output on a write, WRITETHROUGH shows the
//    word as written, READBEFOREWRITE shows the word before the write. CE gates reads and
//    writes; CSDECODE compares the chip selects; CLKxMUX "INV" clocks on the falling edge.
//  * RESETMODE SYNC (RST clears the output latch at the edge, whatever CE) and ASYNC (RST
//    clears it at once). INITVAL_00..3F: 16 words of 18 bits per 320-bit value, word i in
//    bits 20*i+17 .. 20*i (the layout brams_map_16kd.v writes).
//  * A read on one port of the word the other port writes at the same edge returns the old
//    word; the datasheet leaves such a collision undefined, so the model reports the first one
//    of each instance ("DP16KD ... collision").
// Outside this model, stopping the simulation rather than guessing: widths 1, 2 and 4 (their
// bit layout within the 18-bit word is not modelled), REGMODE "OUTREG" on one port only in the
// 36-bit mode, a reset and a write on
// one port at the same edge. Timing (specify) is not modelled: zero-delay functional model.
module DP16KD(
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, RSTA,
    input CSA2, CSA1, CSA0,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, RSTB,
    input CSB2, CSB1, CSB0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    parameter WID = 0;
    parameter GSR = "ENABLED";
    parameter INIT_DATA = "STATIC";
    parameter INITVAL_00 = 320'h0;
    parameter INITVAL_01 = 320'h0;
    parameter INITVAL_02 = 320'h0;
    parameter INITVAL_03 = 320'h0;
    parameter INITVAL_04 = 320'h0;
    parameter INITVAL_05 = 320'h0;
    parameter INITVAL_06 = 320'h0;
    parameter INITVAL_07 = 320'h0;
    parameter INITVAL_08 = 320'h0;
    parameter INITVAL_09 = 320'h0;
    parameter INITVAL_0A = 320'h0;
    parameter INITVAL_0B = 320'h0;
    parameter INITVAL_0C = 320'h0;
    parameter INITVAL_0D = 320'h0;
    parameter INITVAL_0E = 320'h0;
    parameter INITVAL_0F = 320'h0;
    parameter INITVAL_10 = 320'h0;
    parameter INITVAL_11 = 320'h0;
    parameter INITVAL_12 = 320'h0;
    parameter INITVAL_13 = 320'h0;
    parameter INITVAL_14 = 320'h0;
    parameter INITVAL_15 = 320'h0;
    parameter INITVAL_16 = 320'h0;
    parameter INITVAL_17 = 320'h0;
    parameter INITVAL_18 = 320'h0;
    parameter INITVAL_19 = 320'h0;
    parameter INITVAL_1A = 320'h0;
    parameter INITVAL_1B = 320'h0;
    parameter INITVAL_1C = 320'h0;
    parameter INITVAL_1D = 320'h0;
    parameter INITVAL_1E = 320'h0;
    parameter INITVAL_1F = 320'h0;
    parameter INITVAL_20 = 320'h0;
    parameter INITVAL_21 = 320'h0;
    parameter INITVAL_22 = 320'h0;
    parameter INITVAL_23 = 320'h0;
    parameter INITVAL_24 = 320'h0;
    parameter INITVAL_25 = 320'h0;
    parameter INITVAL_26 = 320'h0;
    parameter INITVAL_27 = 320'h0;
    parameter INITVAL_28 = 320'h0;
    parameter INITVAL_29 = 320'h0;
    parameter INITVAL_2A = 320'h0;
    parameter INITVAL_2B = 320'h0;
    parameter INITVAL_2C = 320'h0;
    parameter INITVAL_2D = 320'h0;
    parameter INITVAL_2E = 320'h0;
    parameter INITVAL_2F = 320'h0;
    parameter INITVAL_30 = 320'h0;
    parameter INITVAL_31 = 320'h0;
    parameter INITVAL_32 = 320'h0;
    parameter INITVAL_33 = 320'h0;
    parameter INITVAL_34 = 320'h0;
    parameter INITVAL_35 = 320'h0;
    parameter INITVAL_36 = 320'h0;
    parameter INITVAL_37 = 320'h0;
    parameter INITVAL_38 = 320'h0;
    parameter INITVAL_39 = 320'h0;
    parameter INITVAL_3A = 320'h0;
    parameter INITVAL_3B = 320'h0;
    parameter INITVAL_3C = 320'h0;
    parameter INITVAL_3D = 320'h0;
    parameter INITVAL_3E = 320'h0;
    parameter INITVAL_3F = 320'h0;

    localparam PDP36 = DATA_WIDTH_A == 36;

    // "0bXYZ" -> {X, Y, Z} (CS2, CS1, CS0)
    function [2:0] cs_code(input [39:0] s);
        cs_code = {s[23:16] == "1", s[15:8] == "1", s[7:0] == "1"};
    endfunction

    function legal_width(input integer w);
        legal_width = w == 9 || w == 18;
    endfunction

    function legal_regmode(input [8*6-1:0] m);
        legal_regmode = m == "NOREG" || m == "OUTREG";
    endfunction

    function legal_writemode(input [8*15-1:0] m);
        legal_writemode = m == "NORMAL" || m == "WRITETHROUGH" || m == "READBEFOREWRITE";
    endfunction

    reg [17:0] mem [0:1023];
    integer i;
    initial begin
        if (PDP36 ? DATA_WIDTH_B != 36 : !(legal_width(DATA_WIDTH_A) && legal_width(DATA_WIDTH_B)))
            $fatal(1, "DP16KD model: widths %0d/%0d are not modelled (9, 18 or 36/36 only)",
                   DATA_WIDTH_A, DATA_WIDTH_B);
        if (PDP36 ? REGMODE_A != REGMODE_B
                  : !(legal_regmode(REGMODE_A) && legal_regmode(REGMODE_B)))
            $fatal(1, "DP16KD model: REGMODE NOREG or OUTREG per port (at 36 bits, the same on both) is modelled");
        if (RESETMODE != "SYNC" && RESETMODE != "ASYNC")
            $fatal(1, "DP16KD model: RESETMODE must be SYNC or ASYNC");
        if (!legal_writemode(WRITEMODE_A) || !legal_writemode(WRITEMODE_B))
            $fatal(1, "DP16KD model: unknown WRITEMODE");
        if ((CLKAMUX != "CLKA" && CLKAMUX != "INV") || (CLKBMUX != "CLKB" && CLKBMUX != "INV"))
            $fatal(1, "DP16KD model: CLKAMUX/CLKBMUX must be the clock or INV");
        for (i = 0; i < 16; i = i + 1) mem[0*16 + i] = INITVAL_00[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[1*16 + i] = INITVAL_01[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[2*16 + i] = INITVAL_02[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[3*16 + i] = INITVAL_03[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[4*16 + i] = INITVAL_04[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[5*16 + i] = INITVAL_05[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[6*16 + i] = INITVAL_06[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[7*16 + i] = INITVAL_07[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[8*16 + i] = INITVAL_08[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[9*16 + i] = INITVAL_09[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[10*16 + i] = INITVAL_0A[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[11*16 + i] = INITVAL_0B[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[12*16 + i] = INITVAL_0C[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[13*16 + i] = INITVAL_0D[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[14*16 + i] = INITVAL_0E[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[15*16 + i] = INITVAL_0F[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[16*16 + i] = INITVAL_10[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[17*16 + i] = INITVAL_11[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[18*16 + i] = INITVAL_12[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[19*16 + i] = INITVAL_13[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[20*16 + i] = INITVAL_14[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[21*16 + i] = INITVAL_15[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[22*16 + i] = INITVAL_16[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[23*16 + i] = INITVAL_17[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[24*16 + i] = INITVAL_18[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[25*16 + i] = INITVAL_19[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[26*16 + i] = INITVAL_1A[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[27*16 + i] = INITVAL_1B[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[28*16 + i] = INITVAL_1C[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[29*16 + i] = INITVAL_1D[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[30*16 + i] = INITVAL_1E[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[31*16 + i] = INITVAL_1F[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[32*16 + i] = INITVAL_20[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[33*16 + i] = INITVAL_21[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[34*16 + i] = INITVAL_22[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[35*16 + i] = INITVAL_23[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[36*16 + i] = INITVAL_24[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[37*16 + i] = INITVAL_25[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[38*16 + i] = INITVAL_26[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[39*16 + i] = INITVAL_27[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[40*16 + i] = INITVAL_28[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[41*16 + i] = INITVAL_29[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[42*16 + i] = INITVAL_2A[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[43*16 + i] = INITVAL_2B[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[44*16 + i] = INITVAL_2C[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[45*16 + i] = INITVAL_2D[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[46*16 + i] = INITVAL_2E[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[47*16 + i] = INITVAL_2F[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[48*16 + i] = INITVAL_30[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[49*16 + i] = INITVAL_31[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[50*16 + i] = INITVAL_32[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[51*16 + i] = INITVAL_33[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[52*16 + i] = INITVAL_34[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[53*16 + i] = INITVAL_35[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[54*16 + i] = INITVAL_36[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[55*16 + i] = INITVAL_37[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[56*16 + i] = INITVAL_38[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[57*16 + i] = INITVAL_39[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[58*16 + i] = INITVAL_3A[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[59*16 + i] = INITVAL_3B[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[60*16 + i] = INITVAL_3C[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[61*16 + i] = INITVAL_3D[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[62*16 + i] = INITVAL_3E[i*20 +: 18];
        for (i = 0; i < 16; i = i + 1) mem[63*16 + i] = INITVAL_3F[i*20 +: 18];
    end

    wire clka = CLKAMUX == "INV" ? ~CLKA : CLKA;
    wire clkb = CLKBMUX == "INV" ? ~CLKB : CLKB;
    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
    wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
    wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
    wire ena = CEA && {CSA2, CSA1, CSA0} == cs_code(CSDECODE_A);
    wire enb = CEB && {CSB2, CSB1, CSB0} == cs_code(CSDECODE_B);
    wire arsta = RESETMODE == "ASYNC" && RSTA;
    wire arstb = RESETMODE == "ASYNC" && RSTB;
    wire srsta = RESETMODE == "SYNC" && RSTA;
    wire srstb = RESETMODE == "SYNC" && RSTB;

    // 18-bit word index and byte lane of a port address.
    wire [9:0] worda = PDP36 ? {ada[13:5], 1'b0} : ada[13:4];
    wire [9:0] wordb = PDP36 ? {adb[13:5], 1'b0} : adb[13:4];
    // Bytes (9-bit lanes of the 18-bit word) a write touches.
    wire [1:0] bea = DATA_WIDTH_A == 9 ? (ada[3] ? 2'b10 : 2'b01) : ada[1:0];
    wire [1:0] beb = DATA_WIDTH_B == 9 ? (adb[3] ? 2'b10 : 2'b01) : adb[1:0];
    // Data as a full 18-bit word: x9 data replicated to both lanes, the byte enables pick one.
    wire [17:0] wdataa = DATA_WIDTH_A == 9 ? {dia[8:0], dia[8:0]} : dia;
    wire [17:0] wdatab = DATA_WIDTH_B == 9 ? {dib[8:0], dib[8:0]} : dib;

    function [17:0] merge(input [17:0] old, input [17:0] data, input [1:0] be);
        merge = {be[1] ? data[17:9] : old[17:9], be[0] ? data[8:0] : old[8:0]};
    endfunction

    // What a port's output shows of an 18-bit word (x9: the addressed byte, upper bits 0).
    function [17:0] view(input [17:0] word, input integer width, input lane);
        view = width == 9 ? {9'b0, lane ? word[17:9] : word[8:0]} : word;
    endfunction

    wire wra = ena && WEA;
    wire wrb = enb && WEB && !PDP36;
    wire [17:0] olda = mem[worda];
    wire [17:0] oldb = mem[wordb];
    wire [17:0] olda_hi = mem[worda | 10'd1];
    wire [17:0] newa = merge(olda, wdataa, bea);
    wire [17:0] newb = merge(oldb, wdatab, beb);

    reg [17:0] doa_q = 18'b0, dob_q = 18'b0;
    reg [35:0] do36_q = 36'b0;
    reg collided = 1'b0;

    always @(posedge clka) begin
        if (wra && srsta)
            $fatal(1, "DP16KD model %m: reset and write at one edge of port A are not modelled");
        if (wra) begin
            if (PDP36) begin
                mem[worda] <= merge(olda, dia, ada[1:0]);
                mem[worda | 10'd1] <= merge(olda_hi, dib, ada[3:2]);
            end else
                mem[worda] <= newa;
        end
    end

    always @(posedge clkb) begin
        if (wrb && srstb)
            $fatal(1, "DP16KD model %m: reset and write at one edge of port B are not modelled");
        if (wrb)
            mem[wordb] <= newb;
    end

    // Output latches (REGMODE NOREG). In the 36-bit mode port B reads both halves.
    always @(posedge clka or posedge arsta) begin
        if (arsta || srsta)
            doa_q <= 18'b0;
        else if (ena && !PDP36) begin
            if (!WEA)
                doa_q <= view(olda, DATA_WIDTH_A, ada[3]);
            else if (WRITEMODE_A == "WRITETHROUGH")
                doa_q <= view(newa, DATA_WIDTH_A, ada[3]);
            else if (WRITEMODE_A == "READBEFOREWRITE")
                doa_q <= view(olda, DATA_WIDTH_A, ada[3]);
        end
    end

    always @(posedge clkb or posedge arstb) begin
        if (arstb || srstb) begin
            dob_q <= 18'b0;
            do36_q <= 36'b0;
        end else if (enb && PDP36)
            do36_q <= {mem[wordb | 10'd1], oldb};
        else if (enb) begin
            if (!WEB)
                dob_q <= view(oldb, DATA_WIDTH_B, adb[3]);
            else if (WRITEMODE_B == "WRITETHROUGH")
                dob_q <= view(newb, DATA_WIDTH_B, adb[3]);
            else if (WRITEMODE_B == "READBEFOREWRITE")
                dob_q <= view(oldb, DATA_WIDTH_B, adb[3]);
        end
    end

    // Cross-port collision report (same clock on both ports: both edges at this time step).
    wire rdb = enb && (PDP36 || !WEB);
    wire rda = ena && !PDP36 && !WEA;
    always @(posedge clkb) begin
        if (!collided && clka == clkb && ((wra && rdb && worda[9:1] == wordb[9:1]
                                           && (PDP36 || worda == wordb))
                                          || (wrb && rda && worda == wordb))) begin
            collided <= 1'b1;
            $display("DP16KD model %m: one word read and written on the two ports at one edge (collision; the model returns the old word) at %0t", $time);
        end
    end

    // Each port's output latch: in the 36-bit mode port A shows the low half of the word port
    // B read (DOA), port B the high half (DOB).
    wire [17:0] lat_a = PDP36 ? do36_q[17:0] : doa_q;
    wire [17:0] lat_b = PDP36 ? do36_q[35:18] : dob_q;

    // Output registers (REGMODE "OUTREG"): each port's latch at its own clock edges with its
    // OCE (in the 36-bit mode both ports' REGMODE are the same, checked above).
    reg [17:0] reg_a = 18'b0, reg_b = 18'b0;
    always @(posedge clka or posedge arsta) begin
        if (arsta || srsta)
            reg_a <= 18'b0;
        else if (OCEA)
            reg_a <= lat_a;
    end
    always @(posedge clkb or posedge arstb) begin
        if (arstb || srstb)
            reg_b <= 18'b0;
        else if (OCEB)
            reg_b <= lat_b;
    end

    assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = REGMODE_A == "OUTREG" ? reg_a : lat_a;
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = REGMODE_B == "OUTREG" ? reg_b : lat_b;
endmodule
