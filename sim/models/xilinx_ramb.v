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
    parameter integer DOA_REG = 0;
    parameter integer DOB_REG = 0;
    parameter EN_ECC_READ = "FALSE";
    parameter EN_ECC_WRITE = "FALSE";
    parameter RAM_EXTENSION_A = "NONE";
    parameter RAM_EXTENSION_B = "NONE";
    parameter [255:0] INITP_00 = 256'h0;
    parameter [255:0] INITP_01 = 256'h0;
    parameter [255:0] INITP_02 = 256'h0;
    parameter [255:0] INITP_03 = 256'h0;
    parameter [255:0] INITP_04 = 256'h0;
    parameter [255:0] INITP_05 = 256'h0;
    parameter [255:0] INITP_06 = 256'h0;
    parameter [255:0] INITP_07 = 256'h0;
    parameter [255:0] INITP_08 = 256'h0;
    parameter [255:0] INITP_09 = 256'h0;
    parameter [255:0] INITP_0A = 256'h0;
    parameter [255:0] INITP_0B = 256'h0;
    parameter [255:0] INITP_0C = 256'h0;
    parameter [255:0] INITP_0D = 256'h0;
    parameter [255:0] INITP_0E = 256'h0;
    parameter [255:0] INITP_0F = 256'h0;
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
    // Yosys writes INIT_A/B and SRVAL_A/B 72 bits wide (some bits x); the low 36 count.
    parameter INIT_A = 36'h0;
    parameter INIT_B = 36'h0;
    parameter INIT_FILE = "NONE";
    parameter RAM_MODE = "TDP";
    parameter RDADDR_COLLISION_HWCONFIG = "DELAYED_WRITE";
    parameter integer READ_WIDTH_A = 0;
    parameter integer READ_WIDTH_B = 0;
    parameter RSTREG_PRIORITY_A = "RSTREG";
    parameter RSTREG_PRIORITY_B = "RSTREG";
    parameter SIM_COLLISION_CHECK = "ALL";
    parameter SIM_DEVICE = "VIRTEX6";
    parameter SRVAL_A = 36'h0;
    parameter SRVAL_B = 36'h0;
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
    localparam [35:0] INIT_A_ = INIT_A;
    localparam [35:0] INIT_B_ = INIT_B;
    localparam [35:0] SRVAL_A_ = SRVAL_A;
    localparam [35:0] SRVAL_B_ = SRVAL_B;

    function legal_tdp_width(input integer w);
        legal_tdp_width = w == 0 || w == 1 || w == 2 || w == 4 || w == 9 || w == 18
                          || w == 36;
    endfunction

    function legal_write_mode(input [8*11-1:0] m);
        legal_write_mode = m == "WRITE_FIRST" || m == "READ_FIRST" || m == "NO_CHANGE";
    endfunction

    // One row: 32 data bits and their 4 parity bits (parity bit j belongs to data byte j).
    reg [31:0] data [0:1023];
    reg [3:0] par [0:1023];
    integer i;
    initial begin
        if (DOA_REG != 0 || DOB_REG != 0)
            $fatal(1, "RAMB36E1 model %m: only DOA_REG = DOB_REG = 0 is modelled");
        if (RAM_MODE != "TDP" && RAM_MODE != "SDP")
            $fatal(1, "RAMB36E1 model %m: RAM_MODE must be TDP or SDP");
        if (SDP && !(READ_WIDTH_A == 72 && READ_WIDTH_B == 0 && WRITE_WIDTH_A == 0
                     && WRITE_WIDTH_B == 72))
            $fatal(1, "RAMB36E1 model %m: SDP widths R%0d/W%0d not modelled (72/72 only)",
                   READ_WIDTH_A, WRITE_WIDTH_B);
        if (!SDP && !(legal_tdp_width(READ_WIDTH_A) && legal_tdp_width(READ_WIDTH_B)
                      && legal_tdp_width(WRITE_WIDTH_A) && legal_tdp_width(WRITE_WIDTH_B)))
            $fatal(1, "RAMB36E1 model %m: TDP widths %0d/%0d/%0d/%0d not modelled",
                   READ_WIDTH_A, WRITE_WIDTH_A, READ_WIDTH_B, WRITE_WIDTH_B);
        if (!legal_write_mode(WRITE_MODE_A) || !legal_write_mode(WRITE_MODE_B))
            $fatal(1, "RAMB36E1 model %m: unknown WRITE_MODE");
        if (INIT_FILE != "NONE")
            $fatal(1, "RAMB36E1 model %m: INIT_FILE is not modelled");
        if (RAM_EXTENSION_A != "NONE" || RAM_EXTENSION_B != "NONE")
            $fatal(1, "RAMB36E1 model %m: cascading (RAM_EXTENSION) is not modelled");
        if (EN_ECC_READ != "FALSE" || EN_ECC_WRITE != "FALSE")
            $fatal(1, "RAMB36E1 model %m: ECC is not modelled");
        for (i = 0; i < 8; i = i + 1) data[0 + i] = INIT_00[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[8 + i] = INIT_01[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[16 + i] = INIT_02[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[24 + i] = INIT_03[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[32 + i] = INIT_04[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[40 + i] = INIT_05[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[48 + i] = INIT_06[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[56 + i] = INIT_07[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[64 + i] = INIT_08[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[72 + i] = INIT_09[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[80 + i] = INIT_0A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[88 + i] = INIT_0B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[96 + i] = INIT_0C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[104 + i] = INIT_0D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[112 + i] = INIT_0E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[120 + i] = INIT_0F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[128 + i] = INIT_10[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[136 + i] = INIT_11[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[144 + i] = INIT_12[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[152 + i] = INIT_13[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[160 + i] = INIT_14[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[168 + i] = INIT_15[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[176 + i] = INIT_16[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[184 + i] = INIT_17[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[192 + i] = INIT_18[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[200 + i] = INIT_19[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[208 + i] = INIT_1A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[216 + i] = INIT_1B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[224 + i] = INIT_1C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[232 + i] = INIT_1D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[240 + i] = INIT_1E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[248 + i] = INIT_1F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[256 + i] = INIT_20[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[264 + i] = INIT_21[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[272 + i] = INIT_22[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[280 + i] = INIT_23[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[288 + i] = INIT_24[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[296 + i] = INIT_25[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[304 + i] = INIT_26[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[312 + i] = INIT_27[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[320 + i] = INIT_28[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[328 + i] = INIT_29[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[336 + i] = INIT_2A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[344 + i] = INIT_2B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[352 + i] = INIT_2C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[360 + i] = INIT_2D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[368 + i] = INIT_2E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[376 + i] = INIT_2F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[384 + i] = INIT_30[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[392 + i] = INIT_31[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[400 + i] = INIT_32[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[408 + i] = INIT_33[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[416 + i] = INIT_34[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[424 + i] = INIT_35[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[432 + i] = INIT_36[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[440 + i] = INIT_37[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[448 + i] = INIT_38[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[456 + i] = INIT_39[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[464 + i] = INIT_3A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[472 + i] = INIT_3B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[480 + i] = INIT_3C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[488 + i] = INIT_3D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[496 + i] = INIT_3E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[504 + i] = INIT_3F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[512 + i] = INIT_40[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[520 + i] = INIT_41[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[528 + i] = INIT_42[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[536 + i] = INIT_43[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[544 + i] = INIT_44[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[552 + i] = INIT_45[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[560 + i] = INIT_46[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[568 + i] = INIT_47[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[576 + i] = INIT_48[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[584 + i] = INIT_49[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[592 + i] = INIT_4A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[600 + i] = INIT_4B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[608 + i] = INIT_4C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[616 + i] = INIT_4D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[624 + i] = INIT_4E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[632 + i] = INIT_4F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[640 + i] = INIT_50[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[648 + i] = INIT_51[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[656 + i] = INIT_52[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[664 + i] = INIT_53[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[672 + i] = INIT_54[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[680 + i] = INIT_55[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[688 + i] = INIT_56[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[696 + i] = INIT_57[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[704 + i] = INIT_58[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[712 + i] = INIT_59[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[720 + i] = INIT_5A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[728 + i] = INIT_5B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[736 + i] = INIT_5C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[744 + i] = INIT_5D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[752 + i] = INIT_5E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[760 + i] = INIT_5F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[768 + i] = INIT_60[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[776 + i] = INIT_61[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[784 + i] = INIT_62[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[792 + i] = INIT_63[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[800 + i] = INIT_64[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[808 + i] = INIT_65[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[816 + i] = INIT_66[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[824 + i] = INIT_67[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[832 + i] = INIT_68[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[840 + i] = INIT_69[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[848 + i] = INIT_6A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[856 + i] = INIT_6B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[864 + i] = INIT_6C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[872 + i] = INIT_6D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[880 + i] = INIT_6E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[888 + i] = INIT_6F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[896 + i] = INIT_70[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[904 + i] = INIT_71[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[912 + i] = INIT_72[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[920 + i] = INIT_73[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[928 + i] = INIT_74[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[936 + i] = INIT_75[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[944 + i] = INIT_76[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[952 + i] = INIT_77[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[960 + i] = INIT_78[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[968 + i] = INIT_79[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[976 + i] = INIT_7A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[984 + i] = INIT_7B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[992 + i] = INIT_7C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[1000 + i] = INIT_7D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[1008 + i] = INIT_7E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[1016 + i] = INIT_7F[i*32 +: 32];
        for (i = 0; i < 64; i = i + 1) par[0 + i] = INITP_00[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[64 + i] = INITP_01[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[128 + i] = INITP_02[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[192 + i] = INITP_03[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[256 + i] = INITP_04[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[320 + i] = INITP_05[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[384 + i] = INITP_06[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[448 + i] = INITP_07[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[512 + i] = INITP_08[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[576 + i] = INITP_09[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[640 + i] = INITP_0A[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[704 + i] = INITP_0B[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[768 + i] = INITP_0C[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[832 + i] = INITP_0D[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[896 + i] = INITP_0E[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[960 + i] = INITP_0F[i*4 +: 4];
    end

    wire clka = CLKARDCLK ^ IS_CLKARDCLK_INVERTED;
    wire clkb = CLKBWRCLK ^ IS_CLKBWRCLK_INVERTED;
    wire ena = ENARDEN ^ IS_ENARDEN_INVERTED;
    wire enb = ENBWREN ^ IS_ENBWREN_INVERTED;
    wire rsta = RSTRAMARSTRAM ^ IS_RSTRAMARSTRAM_INVERTED;
    wire rstb = RSTRAMB ^ IS_RSTRAMB_INVERTED;
    wire [14:0] addra = ADDRARDADDR[14:0];
    wire [14:0] addrb = ADDRBWRADDR[14:0];

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

    // A TDP port's row: ADDR[14:5]; the SDP word: rows {ADDR[14:6], 0} (low half) and {ADDR[14:6], 1} (high half).
    wire [9:0] rowa = addra[14:5];
    wire [9:0] rowb = addrb[14:5];
    wire [35:0] rda_row = {par[rowa], data[rowa]};
    wire [35:0] rdb_row = {par[rowb], data[rowb]};

    wire wra = !SDP && ena && |WEA && WRITE_WIDTH_A != 0;
    wire wrb = enb && (SDP ? |WEBWE : |WEBWE[3:0]) && (SDP || WRITE_WIDTH_B != 0);
    wire [35:0] newa = merge(rda_row, addra[4:0], WRITE_WIDTH_A, DIADI, DIPADIP, WEA);
    wire [35:0] newb = merge(rdb_row, addrb[4:0], WRITE_WIDTH_B, DIBDI, DIPBDIP, WEBWE[3:0]);
    wire [9:0] sdp_lo_r = {addra[14:6], 1'b0}, sdp_hi_r = {addra[14:6], 1'b1};
    wire [9:0] sdp_lo_w = {addrb[14:6], 1'b0}, sdp_hi_w = {addrb[14:6], 1'b1};

    // Output latches {parity, data} (DOA_REG/DOB_REG 0), as initialised by INIT_A/INIT_B.
    reg [35:0] oa, ob;
    initial begin
        oa = unpack(INIT_A_, SDP ? 36 : READ_WIDTH_A);
        ob = unpack(INIT_B_, SDP ? 36 : READ_WIDTH_B);
    end
    reg collided = 1'b0;

    // Port A: TDP read/write, or the SDP read port.
    always @(posedge clka) begin
        if (ena) begin
            if (wra)
                {par[rowa], data[rowa]} <= newa;
            if (rsta) begin
                oa <= unpack(SRVAL_A_, SDP ? 36 : READ_WIDTH_A);
                if (SDP)
                    ob <= unpack(SRVAL_B_, 36);
            end else if (SDP) begin
                oa <= {par[sdp_lo_r], data[sdp_lo_r]};
                ob <= {par[sdp_hi_r], data[sdp_hi_r]};
            end else if (READ_WIDTH_A != 0) begin
                if (!wra || WRITE_MODE_A == "READ_FIRST")
                    oa <= view(rda_row[31:0], rda_row[35:32], addra[4:0], READ_WIDTH_A);
                else if (WRITE_MODE_A == "WRITE_FIRST")
                    oa <= view(newa[31:0], newa[35:32], addra[4:0], READ_WIDTH_A);
            end
        end
    end

    // Port B: TDP read/write, or the SDP write port.
    always @(posedge clkb) begin
        if (enb) begin
            if (SDP) begin
                if (wrb) begin
                    if (|WEBWE[3:0])
                        {par[sdp_lo_w], data[sdp_lo_w]} <= merge({par[sdp_lo_w], data[sdp_lo_w]},
                                                                 5'd0, 36, DIADI, DIPADIP, WEBWE[3:0]);
                    if (|WEBWE[7:4])
                        {par[sdp_hi_w], data[sdp_hi_w]} <= merge({par[sdp_hi_w], data[sdp_hi_w]},
                                                                 5'd0, 36, DIBDI, DIPBDIP, WEBWE[7:4]);
                end
            end else begin
                if (wrb) begin
                    if (wra && rowa == rowb && clka == clkb)
                        $fatal(1, "RAMB36E1 model %m: both ports write row %0d at one edge", rowb);
                    {par[rowb], data[rowb]} <= newb;
                end
                if (rstb)
                    ob <= unpack(SRVAL_B_, READ_WIDTH_B);
                else if (READ_WIDTH_B != 0) begin
                    if (!wrb || WRITE_MODE_B == "READ_FIRST")
                        ob <= view(rdb_row[31:0], rdb_row[35:32], addrb[4:0], READ_WIDTH_B);
                    else if (WRITE_MODE_B == "WRITE_FIRST")
                        ob <= view(newb[31:0], newb[35:32], addrb[4:0], READ_WIDTH_B);
                end
            end
        end
    end

    // Cross-port collision report (same clock on both ports: both edges at this time step).
    wire reada = ena && !rsta && (SDP || READ_WIDTH_A != 0);
    wire readb = !SDP && enb && !rstb && READ_WIDTH_B != 0;
    always @(posedge clkb) begin
        if (!collided && clka == clkb
            && (SDP ? (reada && wrb && sdp_lo_r == sdp_lo_w)
                    : rowa == rowb && ((wra && readb) || (wrb && reada)))) begin
            collided <= 1'b1;
            $display("RAMB36E1 model %m: a port reads a row the other port writes at the same edge (time %0t): the read returns the old word",
                     $time);
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
    // Yosys writes INIT_A/B and SRVAL_A/B 72 bits wide (some bits x); the low 18 count.
    parameter INIT_A = 18'h0;
    parameter INIT_B = 18'h0;
    parameter INIT_FILE = "NONE";
    parameter RAM_MODE = "TDP";
    parameter RDADDR_COLLISION_HWCONFIG = "DELAYED_WRITE";
    parameter integer READ_WIDTH_A = 0;
    parameter integer READ_WIDTH_B = 0;
    parameter RSTREG_PRIORITY_A = "RSTREG";
    parameter RSTREG_PRIORITY_B = "RSTREG";
    parameter SIM_COLLISION_CHECK = "ALL";
    parameter SIM_DEVICE = "VIRTEX6";
    parameter SRVAL_A = 18'h0;
    parameter SRVAL_B = 18'h0;
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
    localparam [17:0] INIT_A_ = INIT_A;
    localparam [17:0] INIT_B_ = INIT_B;
    localparam [17:0] SRVAL_A_ = SRVAL_A;
    localparam [17:0] SRVAL_B_ = SRVAL_B;

    function legal_tdp_width(input integer w);
        legal_tdp_width = w == 0 || w == 1 || w == 2 || w == 4 || w == 9 || w == 18
                          || w == 18;
    endfunction

    function legal_write_mode(input [8*11-1:0] m);
        legal_write_mode = m == "WRITE_FIRST" || m == "READ_FIRST" || m == "NO_CHANGE";
    endfunction

    // One row: 32 data bits and their 4 parity bits (parity bit j belongs to data byte j).
    reg [31:0] data [0:511];
    reg [3:0] par [0:511];
    integer i;
    initial begin
        if (DOA_REG != 0 || DOB_REG != 0)
            $fatal(1, "RAMB18E1 model %m: only DOA_REG = DOB_REG = 0 is modelled");
        if (RAM_MODE != "TDP" && RAM_MODE != "SDP")
            $fatal(1, "RAMB18E1 model %m: RAM_MODE must be TDP or SDP");
        if (SDP && !(READ_WIDTH_A == 36 && READ_WIDTH_B == 0 && WRITE_WIDTH_A == 0
                     && WRITE_WIDTH_B == 36))
            $fatal(1, "RAMB18E1 model %m: SDP widths R%0d/W%0d not modelled (36/36 only)",
                   READ_WIDTH_A, WRITE_WIDTH_B);
        if (!SDP && !(legal_tdp_width(READ_WIDTH_A) && legal_tdp_width(READ_WIDTH_B)
                      && legal_tdp_width(WRITE_WIDTH_A) && legal_tdp_width(WRITE_WIDTH_B)))
            $fatal(1, "RAMB18E1 model %m: TDP widths %0d/%0d/%0d/%0d not modelled",
                   READ_WIDTH_A, WRITE_WIDTH_A, READ_WIDTH_B, WRITE_WIDTH_B);
        if (!legal_write_mode(WRITE_MODE_A) || !legal_write_mode(WRITE_MODE_B))
            $fatal(1, "RAMB18E1 model %m: unknown WRITE_MODE");
        if (INIT_FILE != "NONE")
            $fatal(1, "RAMB18E1 model %m: INIT_FILE is not modelled");
        for (i = 0; i < 8; i = i + 1) data[0 + i] = INIT_00[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[8 + i] = INIT_01[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[16 + i] = INIT_02[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[24 + i] = INIT_03[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[32 + i] = INIT_04[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[40 + i] = INIT_05[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[48 + i] = INIT_06[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[56 + i] = INIT_07[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[64 + i] = INIT_08[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[72 + i] = INIT_09[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[80 + i] = INIT_0A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[88 + i] = INIT_0B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[96 + i] = INIT_0C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[104 + i] = INIT_0D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[112 + i] = INIT_0E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[120 + i] = INIT_0F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[128 + i] = INIT_10[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[136 + i] = INIT_11[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[144 + i] = INIT_12[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[152 + i] = INIT_13[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[160 + i] = INIT_14[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[168 + i] = INIT_15[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[176 + i] = INIT_16[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[184 + i] = INIT_17[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[192 + i] = INIT_18[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[200 + i] = INIT_19[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[208 + i] = INIT_1A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[216 + i] = INIT_1B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[224 + i] = INIT_1C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[232 + i] = INIT_1D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[240 + i] = INIT_1E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[248 + i] = INIT_1F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[256 + i] = INIT_20[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[264 + i] = INIT_21[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[272 + i] = INIT_22[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[280 + i] = INIT_23[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[288 + i] = INIT_24[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[296 + i] = INIT_25[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[304 + i] = INIT_26[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[312 + i] = INIT_27[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[320 + i] = INIT_28[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[328 + i] = INIT_29[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[336 + i] = INIT_2A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[344 + i] = INIT_2B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[352 + i] = INIT_2C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[360 + i] = INIT_2D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[368 + i] = INIT_2E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[376 + i] = INIT_2F[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[384 + i] = INIT_30[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[392 + i] = INIT_31[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[400 + i] = INIT_32[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[408 + i] = INIT_33[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[416 + i] = INIT_34[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[424 + i] = INIT_35[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[432 + i] = INIT_36[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[440 + i] = INIT_37[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[448 + i] = INIT_38[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[456 + i] = INIT_39[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[464 + i] = INIT_3A[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[472 + i] = INIT_3B[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[480 + i] = INIT_3C[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[488 + i] = INIT_3D[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[496 + i] = INIT_3E[i*32 +: 32];
        for (i = 0; i < 8; i = i + 1) data[504 + i] = INIT_3F[i*32 +: 32];
        for (i = 0; i < 64; i = i + 1) par[0 + i] = INITP_00[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[64 + i] = INITP_01[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[128 + i] = INITP_02[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[192 + i] = INITP_03[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[256 + i] = INITP_04[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[320 + i] = INITP_05[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[384 + i] = INITP_06[i*4 +: 4];
        for (i = 0; i < 64; i = i + 1) par[448 + i] = INITP_07[i*4 +: 4];
    end

    wire clka = CLKARDCLK ^ IS_CLKARDCLK_INVERTED;
    wire clkb = CLKBWRCLK ^ IS_CLKBWRCLK_INVERTED;
    wire ena = ENARDEN ^ IS_ENARDEN_INVERTED;
    wire enb = ENBWREN ^ IS_ENBWREN_INVERTED;
    wire rsta = RSTRAMARSTRAM ^ IS_RSTRAMARSTRAM_INVERTED;
    wire rstb = RSTRAMB ^ IS_RSTRAMB_INVERTED;
    wire [13:0] addra = ADDRARDADDR[13:0];
    wire [13:0] addrb = ADDRBWRADDR[13:0];

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

    // A TDP port's row: ADDR[13:5]; the SDP word: the row ADDR[13:5], DIADI/DOADO bits 15:0 and DIBDI/DOBDO bits 31:16.
    wire [8:0] rowa = addra[13:5];
    wire [8:0] rowb = addrb[13:5];
    wire [35:0] rda_row = {par[rowa], data[rowa]};
    wire [35:0] rdb_row = {par[rowb], data[rowb]};

    wire wra = !SDP && ena && |WEA && WRITE_WIDTH_A != 0;
    wire wrb = enb && (SDP ? |WEBWE : |WEBWE[3:0]) && (SDP || WRITE_WIDTH_B != 0);
    wire [35:0] newa = merge(rda_row, addra[4:0], WRITE_WIDTH_A, {16'b0, DIADI}, {2'b0, DIPADIP}, {2'b0, WEA});
    wire [35:0] newb = merge(rdb_row, addrb[4:0], WRITE_WIDTH_B, {16'b0, DIBDI}, {2'b0, DIPBDIP}, WEBWE);

    // Output latches {parity, data} (DOA_REG/DOB_REG 0), as initialised by INIT_A/INIT_B.
    reg [35:0] oa, ob;
    initial begin
        oa = unpack(INIT_A_, SDP ? 18 : READ_WIDTH_A);
        ob = unpack(INIT_B_, SDP ? 18 : READ_WIDTH_B);
    end
    reg collided = 1'b0;

    // Port A: TDP read/write, or the SDP read port.
    always @(posedge clka) begin
        if (ena) begin
            if (wra)
                {par[rowa], data[rowa]} <= newa;
            if (rsta) begin
                oa <= unpack(SRVAL_A_, SDP ? 18 : READ_WIDTH_A);
                if (SDP)
                    ob <= unpack(SRVAL_B_, 18);
            end else if (SDP) begin
                oa <= {2'b0, par[rowa][1:0], 16'b0, data[rowa][15:0]};
                ob <= {2'b0, par[rowa][3:2], 16'b0, data[rowa][31:16]};
            end else if (READ_WIDTH_A != 0) begin
                if (!wra || WRITE_MODE_A == "READ_FIRST")
                    oa <= view(rda_row[31:0], rda_row[35:32], addra[4:0], READ_WIDTH_A);
                else if (WRITE_MODE_A == "WRITE_FIRST")
                    oa <= view(newa[31:0], newa[35:32], addra[4:0], READ_WIDTH_A);
            end
        end
    end

    // Port B: TDP read/write, or the SDP write port.
    always @(posedge clkb) begin
        if (enb) begin
            if (SDP) begin
                if (wrb) begin
                    {par[rowb], data[rowb]} <= merge(rdb_row, 5'd0, 36, {DIBDI, DIADI},
                                                     {DIPBDIP, DIPADIP}, WEBWE);
                end
            end else begin
                if (wrb) begin
                    if (wra && rowa == rowb && clka == clkb)
                        $fatal(1, "RAMB18E1 model %m: both ports write row %0d at one edge", rowb);
                    {par[rowb], data[rowb]} <= newb;
                end
                if (rstb)
                    ob <= unpack(SRVAL_B_, READ_WIDTH_B);
                else if (READ_WIDTH_B != 0) begin
                    if (!wrb || WRITE_MODE_B == "READ_FIRST")
                        ob <= view(rdb_row[31:0], rdb_row[35:32], addrb[4:0], READ_WIDTH_B);
                    else if (WRITE_MODE_B == "WRITE_FIRST")
                        ob <= view(newb[31:0], newb[35:32], addrb[4:0], READ_WIDTH_B);
                end
            end
        end
    end

    // Cross-port collision report (same clock on both ports: both edges at this time step).
    wire reada = ena && !rsta && (SDP || READ_WIDTH_A != 0);
    wire readb = !SDP && enb && !rstb && READ_WIDTH_B != 0;
    always @(posedge clkb) begin
        if (!collided && clka == clkb
            && (SDP ? (reada && wrb && rowa == rowb)
                    : rowa == rowb && ((wra && readb) || (wrb && reada)))) begin
            collided <= 1'b1;
            $display("RAMB18E1 model %m: a port reads a row the other port writes at the same edge (time %0t): the read returns the old word",
                     $time);
        end
    end

    assign DOADO = oa[15:0];
    assign DOBDO = ob[15:0];
    assign DOPADOP = oa[33:32];
    assign DOPBDOP = ob[33:32];
endmodule
