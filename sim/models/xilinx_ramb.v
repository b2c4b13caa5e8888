// Simulation models of the Xilinx 7-series block RAMs RAMB36E1 and RAMB18E1, in the
// configurations Yosys's synth_xilinx emits (share/xilinx/brams_xc6v_map.v, Yosys 0.70).
//
// Yosys ships both primitives in share/xilinx/cells_sim.v as declarations only: ports,
// parameters and a specify block of timing checks, no behaviour (and no `(* blackbox *)`
// attribute). A simulator compiles them as modules whose DOADO/DOBDO outputs are undriven,
// so every read of a block RAM in a gate-level netlist returns 0: the cause of the all-zero
// actions of the N = 64 Xilinx gate-level run (docs/gate-level.md). sim/gate_level.py
// compiles these models instead of cells_sim.v's declarations.
//
// What the two primitives have in common (the parameters both have, the checks, a port's view
// of a row, the TDP ports, the SDP read port, the collision report) is written once, in
// xilinx_ramb_common.vh, `include'd in the body of each module; a module here keeps its ports,
// the parameters only it has, its geometry (rows, address bits, the rows of the SDP word) and
// its SDP write port. sim/gate_level.py compiles with sim/models as an include folder.
//
// Modelled (UG473, UG953):
//  * RAM_MODE "TDP": each port reads and writes 1, 2, 4, 9, 18 (or 36, RAMB36E1 only) bits,
//    read and write widths independent; the port width selects the address bits as in the
//    hardware (x1 ADDR[14:0], x2 [14:1], x4 [14:2], x9 [14:3], x18 [14:4], x36 [14:5] for
//    RAMB36E1; one bit less for RAMB18E1). Byte write enables WEA / WEBWE[3:0] (9-bit bytes
//    from bit 0 up: data byte j with parity bit j); widths below 9 use enable bit 0.
//  * RAM_MODE "SDP", 72 bits (RAMB36E1) or 36 bits (RAMB18E1): port A reads (CLKARDCLK,
//    ENARDEN, ADDRARDADDR) the word onto DOADO/DOPADOP (low half) and DOBDO/DOPBDOP (high
//    half); port B writes DIADI/DIPADIP (low) and DIBDI/DIPBDIP (high) with WEBWE (8 or 4
//    byte enables).
//  * DOA_REG = DOB_REG = 0: the read data appears at the clock edge after the address (one
//    output latch), initialised to INIT_A / INIT_B and set to SRVAL_A / SRVAL_B by RSTRAM*
//    when the port is enabled. WRITE_MODE per port: WRITE_FIRST shows the word as written,
//    READ_FIRST the word before the write, NO_CHANGE keeps the output while writing.
//  * A read on one port of a word that the other port writes at the same edge returns the old
//    word (what Yosys assumes for READ_FIRST, "wrtrans all old"); the model prints the first
//    such collision of each instance. Both ports writing one word at one edge stops the run.
//  * INIT_00.. and INITP_00.. in the hardware's bit order (data bit i of the array in INIT_xx
//    bit i mod 256, parity bit i in INITP_xx), IS_*_INVERTED on clocks, enables and resets.
// Outside this model, stopping the simulation at time 0 rather than guessing: DOA_REG/DOB_REG
// 1 (output registers), mixed-width SDP, cascading (RAM_EXTENSION LOWER/UPPER), ECC, INIT_FILE.
// Timing (specify) is not modelled: zero-delay functional model.

module RAMB36E1 (
    output CASCADEOUTA,
    output CASCADEOUTB,
    output [31:0] DOADO,
    output [31:0] DOBDO,
    output [3:0] DOPADOP,
    output [3:0] DOPBDOP,
    output [7:0] ECCPARITY,
    output [8:0] RDADDRECC,
    output SBITERR,
    output DBITERR,
    input ENARDEN,
    input CLKARDCLK,
    input RSTRAMARSTRAM,
    input RSTREGARSTREG,
    input CASCADEINA,
    input REGCEAREGCE,
    input ENBWREN,
    input CLKBWRCLK,
    input RSTRAMB,
    input RSTREGB,
    input CASCADEINB,
    input REGCEB,
    input INJECTDBITERR,
    input INJECTSBITERR,
    input [15:0] ADDRARDADDR,
    input [15:0] ADDRBWRADDR,
    input [31:0] DIADI,
    input [31:0] DIBDI,
    input [3:0] DIPADIP,
    input [3:0] DIPBDIP,
    input [3:0] WEA,
    input [7:0] WEBWE
);
    // The parameters RAMB18E1 does not have; the others are in xilinx_ramb_common.vh.
    parameter EN_ECC_READ = "FALSE";
    parameter EN_ECC_WRITE = "FALSE";
    parameter RAM_EXTENSION_A = "NONE";
    parameter RAM_EXTENSION_B = "NONE";
    parameter [255:0] INITP_08 = 256'h0;
    parameter [255:0] INITP_09 = 256'h0;
    parameter [255:0] INITP_0A = 256'h0;
    parameter [255:0] INITP_0B = 256'h0;
    parameter [255:0] INITP_0C = 256'h0;
    parameter [255:0] INITP_0D = 256'h0;
    parameter [255:0] INITP_0E = 256'h0;
    parameter [255:0] INITP_0F = 256'h0;
    parameter [255:0] INIT_40 = 256'h0;
    parameter [255:0] INIT_41 = 256'h0;
    parameter [255:0] INIT_42 = 256'h0;
    parameter [255:0] INIT_43 = 256'h0;
    parameter [255:0] INIT_44 = 256'h0;
    parameter [255:0] INIT_45 = 256'h0;
    parameter [255:0] INIT_46 = 256'h0;
    parameter [255:0] INIT_47 = 256'h0;
    parameter [255:0] INIT_48 = 256'h0;
    parameter [255:0] INIT_49 = 256'h0;
    parameter [255:0] INIT_4A = 256'h0;
    parameter [255:0] INIT_4B = 256'h0;
    parameter [255:0] INIT_4C = 256'h0;
    parameter [255:0] INIT_4D = 256'h0;
    parameter [255:0] INIT_4E = 256'h0;
    parameter [255:0] INIT_4F = 256'h0;
    parameter [255:0] INIT_50 = 256'h0;
    parameter [255:0] INIT_51 = 256'h0;
    parameter [255:0] INIT_52 = 256'h0;
    parameter [255:0] INIT_53 = 256'h0;
    parameter [255:0] INIT_54 = 256'h0;
    parameter [255:0] INIT_55 = 256'h0;
    parameter [255:0] INIT_56 = 256'h0;
    parameter [255:0] INIT_57 = 256'h0;
    parameter [255:0] INIT_58 = 256'h0;
    parameter [255:0] INIT_59 = 256'h0;
    parameter [255:0] INIT_5A = 256'h0;
    parameter [255:0] INIT_5B = 256'h0;
    parameter [255:0] INIT_5C = 256'h0;
    parameter [255:0] INIT_5D = 256'h0;
    parameter [255:0] INIT_5E = 256'h0;
    parameter [255:0] INIT_5F = 256'h0;
    parameter [255:0] INIT_60 = 256'h0;
    parameter [255:0] INIT_61 = 256'h0;
    parameter [255:0] INIT_62 = 256'h0;
    parameter [255:0] INIT_63 = 256'h0;
    parameter [255:0] INIT_64 = 256'h0;
    parameter [255:0] INIT_65 = 256'h0;
    parameter [255:0] INIT_66 = 256'h0;
    parameter [255:0] INIT_67 = 256'h0;
    parameter [255:0] INIT_68 = 256'h0;
    parameter [255:0] INIT_69 = 256'h0;
    parameter [255:0] INIT_6A = 256'h0;
    parameter [255:0] INIT_6B = 256'h0;
    parameter [255:0] INIT_6C = 256'h0;
    parameter [255:0] INIT_6D = 256'h0;
    parameter [255:0] INIT_6E = 256'h0;
    parameter [255:0] INIT_6F = 256'h0;
    parameter [255:0] INIT_70 = 256'h0;
    parameter [255:0] INIT_71 = 256'h0;
    parameter [255:0] INIT_72 = 256'h0;
    parameter [255:0] INIT_73 = 256'h0;
    parameter [255:0] INIT_74 = 256'h0;
    parameter [255:0] INIT_75 = 256'h0;
    parameter [255:0] INIT_76 = 256'h0;
    parameter [255:0] INIT_77 = 256'h0;
    parameter [255:0] INIT_78 = 256'h0;
    parameter [255:0] INIT_79 = 256'h0;
    parameter [255:0] INIT_7A = 256'h0;
    parameter [255:0] INIT_7B = 256'h0;
    parameter [255:0] INIT_7C = 256'h0;
    parameter [255:0] INIT_7D = 256'h0;
    parameter [255:0] INIT_7E = 256'h0;
    parameter [255:0] INIT_7F = 256'h0;

    localparam NAME = "RAMB36E1";
    localparam MAX_WIDTH = 36;

    // 1024 rows; a TDP port's row is ADDR[14:5]. The SDP word is two rows: {ADDR[14:6], 0}
    // (low half) and {ADDR[14:6], 1} (high half).
    reg [31:0] data [0:1023];
    reg [3:0] par [0:1023];
    wire [14:0] addra = ADDRARDADDR[14:0];
    wire [14:0] addrb = ADDRBWRADDR[14:0];
    wire [9:0] rowa = addra[14:5];
    wire [9:0] rowb = addrb[14:5];
    wire [9:0] sdp_lo_r = {addra[14:6], 1'b0}, sdp_hi_r = {addra[14:6], 1'b1};
    wire [9:0] sdp_lo_w = {addrb[14:6], 1'b0}, sdp_hi_w = {addrb[14:6], 1'b1};
    wire [35:0] sdp_lo = {par[sdp_lo_r], data[sdp_lo_r]};
    wire [35:0] sdp_hi = {par[sdp_hi_r], data[sdp_hi_r]};
    wire sdp_same = sdp_lo_r == sdp_lo_w;

    `include "xilinx_ramb_common.vh"

    // Rows 512..1023, as rows 0..511 (xilinx_ramb_common.vh) from INIT_7F..40 / INITP_0F..08.
    localparam [512*32-1:0] INIT_HI = {
        INIT_7F, INIT_7E, INIT_7D, INIT_7C, INIT_7B, INIT_7A, INIT_79, INIT_78,
        INIT_77, INIT_76, INIT_75, INIT_74, INIT_73, INIT_72, INIT_71, INIT_70,
        INIT_6F, INIT_6E, INIT_6D, INIT_6C, INIT_6B, INIT_6A, INIT_69, INIT_68,
        INIT_67, INIT_66, INIT_65, INIT_64, INIT_63, INIT_62, INIT_61, INIT_60,
        INIT_5F, INIT_5E, INIT_5D, INIT_5C, INIT_5B, INIT_5A, INIT_59, INIT_58,
        INIT_57, INIT_56, INIT_55, INIT_54, INIT_53, INIT_52, INIT_51, INIT_50,
        INIT_4F, INIT_4E, INIT_4D, INIT_4C, INIT_4B, INIT_4A, INIT_49, INIT_48,
        INIT_47, INIT_46, INIT_45, INIT_44, INIT_43, INIT_42, INIT_41, INIT_40};
    localparam [512*4-1:0] INITP_HI = {
        INITP_0F, INITP_0E, INITP_0D, INITP_0C, INITP_0B, INITP_0A, INITP_09, INITP_08};
    initial begin
        if (RAM_EXTENSION_A != "NONE" || RAM_EXTENSION_B != "NONE")
            $fatal(1, "RAMB36E1 model %m: cascading (RAM_EXTENSION) is not modelled");
        if (EN_ECC_READ != "FALSE" || EN_ECC_WRITE != "FALSE")
            $fatal(1, "RAMB36E1 model %m: ECC is not modelled");
        for (i = 0; i < 512; i = i + 1)
            {par[512 + i], data[512 + i]} = {INITP_HI[4*i +: 4], INIT_HI[32*i +: 32]};
    end

    // SDP write port (port B): DIADI/DIPADIP into the low row, DIBDI/DIPBDIP into the high one.
    always @(posedge clkb) begin
        if (SDP && enb && wrb) begin
            if (|WEBWE[3:0])
                {par[sdp_lo_w], data[sdp_lo_w]} <= merge({par[sdp_lo_w], data[sdp_lo_w]},
                                                         5'd0, 36, DIADI, DIPADIP, WEBWE[3:0]);
            if (|WEBWE[7:4])
                {par[sdp_hi_w], data[sdp_hi_w]} <= merge({par[sdp_hi_w], data[sdp_hi_w]},
                                                         5'd0, 36, DIBDI, DIPBDIP, WEBWE[7:4]);
        end
    end

    assign DOADO = oa[31:0];
    assign DOBDO = ob[31:0];
    assign DOPADOP = oa[35:32];
    assign DOPBDOP = ob[35:32];
    assign CASCADEOUTA = 1'b0;
    assign CASCADEOUTB = 1'b0;
    assign ECCPARITY = 8'b0;
    assign RDADDRECC = 9'b0;
    assign SBITERR = 1'b0;
    assign DBITERR = 1'b0;
endmodule

module RAMB18E1 (
    input CLKARDCLK,
    input CLKBWRCLK,
    input ENARDEN,
    input ENBWREN,
    input REGCEAREGCE,
    input REGCEB,
    input RSTRAMARSTRAM,
    input RSTRAMB,
    input RSTREGARSTREG,
    input RSTREGB,
    input [13:0] ADDRARDADDR,
    input [13:0] ADDRBWRADDR,
    input [15:0] DIADI,
    input [15:0] DIBDI,
    input [1:0] DIPADIP,
    input [1:0] DIPBDIP,
    input [1:0] WEA,
    input [3:0] WEBWE,
    output [15:0] DOADO,
    output [15:0] DOBDO,
    output [1:0] DOPADOP,
    output [1:0] DOPBDOP
);
    localparam NAME = "RAMB18E1";
    localparam MAX_WIDTH = 18;

    // 512 rows; a TDP port's row is ADDR[13:5]. The SDP word is one row: DIADI/DOADO its data
    // bits 15:0 (parity 1:0), DIBDI/DOBDO bits 31:16 (parity 3:2).
    reg [31:0] data [0:511];
    reg [3:0] par [0:511];
    wire [13:0] addra = ADDRARDADDR[13:0];
    wire [13:0] addrb = ADDRBWRADDR[13:0];
    wire [8:0] rowa = addra[13:5];
    wire [8:0] rowb = addrb[13:5];
    wire [35:0] sdp_lo = {2'b0, par[rowa][1:0], 16'b0, data[rowa][15:0]};
    wire [35:0] sdp_hi = {2'b0, par[rowa][3:2], 16'b0, data[rowa][31:16]};
    wire sdp_same = rowa == rowb;

    `include "xilinx_ramb_common.vh"

    // SDP write port (port B): the whole row, {DIBDI, DIADI} with 4 byte enables.
    always @(posedge clkb) begin
        if (SDP && enb && wrb)
            {par[rowb], data[rowb]} <= merge(rdb_row, 5'd0, 36, {DIBDI, DIADI},
                                             {DIPBDIP, DIPADIP}, WEBWE);
    end

    assign DOADO = oa[15:0];
    assign DOBDO = ob[15:0];
    assign DOPADOP = oa[33:32];
    assign DOPBDOP = ob[33:32];
endmodule
